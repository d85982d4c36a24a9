package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.Iterator;
import java.util.concurrent.Callable;

/** {@code bramble logs}: a function's log lines, from the deployer or a device. */
@Command(name = "logs", description = {"A function's log lines on a device, from the deployer (what the device "
        + "has uploaded), or straight from the device when --device is its URL (offline).",
        "Lines the device had to drop at its outbox's cap show as one line saying how many."})
final class LogsCmd implements Callable<Integer> {
    @Parameters(paramLabel = "FUNCTION", arity = "0..1", description = "the function (or --function)")
    String positional;
    @Option(names = "--function", description = "the function")
    String function;
    @Option(names = "--device", required = true, description = "a device id (via the deployer), or a device's "
            + "URL http(s)://host:port (straight to it)")
    String device;
    @Option(names = "--since", defaultValue = "1h", description = "how far back: 30s, 10m, 2h, 7d, or an ISO "
            + "instant like 2026-11-22T08:00:00Z (default ${DEFAULT-VALUE})")
    String since;
    @Option(names = {"-f", "--follow"}, description = "keep printing new lines as they arrive (Ctrl-C to stop)")
    boolean follow;
    @Option(names = "--limit", defaultValue = "1000", description = "lines per request, 1..10000")
    int limit;
    @Option(names = "--poll-ms", defaultValue = "1000", hidden = true)
    long pollMs;
    @CommandLine.Mixin
    DeviceToken deviceToken;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        Bramble root = Bramble.root(spec);
        String fn = function != null ? function : positional;
        if (fn == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "name the function: --function NAME");
        }
        long sinceMs = sinceMillis(spec, since, System.currentTimeMillis());
        if (device.startsWith("http://") || device.startsWith("https://")) {
            return fromDevice(root, fn, sinceMs);
        }
        PrintWriter out = spec.commandLine().getOut();
        long after = 0;
        while (true) {
            JsonNode r = root.deployerApi().get("/v1/devices/" + device + "/logs?function=" + fn + "&since="
                    + sinceMs + "&after=" + after + "&limit=" + limit);
            for (JsonNode l : r.path("lines")) {
                out.println(root.json ? l.toString() : line(l));
            }
            out.flush();
            after = r.path("next").asLong(after);
            if (r.path("lines").size() == limit) {
                continue; // more right away
            }
            if (!follow) {
                return 0;
            }
            Thread.sleep(pollMs);
        }
    }

    private static String line(JsonNode l) {
        String time = java.time.Instant.ofEpochMilli(l.path("timestamp").asLong()).toString();
        if ("gap".equals(l.path("kind").asText())) {
            return time + " -- " + l.path("dropped").asLong() + " entries dropped on the device (outbox full) --";
        }
        return time + " " + l.path("message").asText();
    }

    private int fromDevice(Bramble root, String fn, long sinceMs) {
        JsonNode r = new Api(device, deviceToken.token(spec)).get("/v1/functions/" + fn + "/logs?limit=" + limit
                + "&since="
                + sinceMs);
        StringBuilder sb = new StringBuilder();
        for (Iterator<JsonNode> it = r.path("events").elements(); it.hasNext(); ) {
            JsonNode e = it.next();
            sb.append(e.path("time").asText()).append(' ').append(e.path("message").asText()).append('\n');
        }
        root.print(r, sb.toString());
        return 0;
    }


    /** {@code 30s}, {@code 10m}, {@code 2h}, {@code 7d}, or an ISO-8601 instant, as epoch milliseconds. */
    static long sinceMillis(CommandLine.Model.CommandSpec spec, String since, long now) {
        java.util.Optional<java.time.Duration> ago = Durations.of(since);
        if (ago.isPresent()) {
            return Math.max(0, now - ago.get().toMillis());
        }
        try {
            return java.time.Instant.parse(since).toEpochMilli();
        } catch (java.time.format.DateTimeParseException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--since '" + since + "' is not allowed; "
                    + "use 30s, 10m, 2h, 7d or an instant like 2026-11-22T08:00:00Z");
        }
    }
}
