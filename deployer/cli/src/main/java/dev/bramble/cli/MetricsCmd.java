package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code bramble metrics}: the latest metrics a device uploaded. */
@Command(name = "metrics", description = "The latest metrics a device has uploaded (counters since its daemon "
        + "started), for every function or one.")
final class MetricsCmd implements Callable<Integer> {
    @Option(names = "--device", required = true, description = "the device id")
    String device;
    @Option(names = "--function", description = "only this function")
    String function;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Bramble root = Bramble.root(spec);
        JsonNode r = root.deployerApi().get("/v1/devices/" + device + "/metrics"
                + (function == null ? "" : "?function=" + function));
        StringBuilder sb = new StringBuilder();
        JsonNode snap = r.path("snapshot");
        if (snap.isMissingNode() || snap.isNull()) {
            sb.append("no metrics from ").append(device).append(" yet\n");
        } else {
            sb.append("device ").append(device).append(" at ").append(r.path("timestamp").asText()).append('\n');
            if (function == null) {
                section(sb, "daemon", snap.path("daemon"));
            }
            snap.path("functions").properties().forEach(e -> section(sb, e.getKey(), e.getValue()));
        }
        root.print(r, sb.toString());
        return 0;
    }

    private static void section(StringBuilder sb, String name, JsonNode values) {
        sb.append(name).append('\n');
        if (values == null || values.isNull()) {
            sb.append("  (nothing recorded)\n");
            return;
        }
        values.properties().forEach(e -> {
            JsonNode v = e.getValue();
            String text = v.isObject() ? "count=" + v.path("count").asLong() + " sum=" + v.path("sum").asDouble()
                    : v.isNumber() && v.asDouble() == Math.rint(v.asDouble()) ? Long.toString(v.asLong())
                    : v.asText();
            sb.append(String.format("  %-36s %s%n", e.getKey(), text));
        });
    }
}
