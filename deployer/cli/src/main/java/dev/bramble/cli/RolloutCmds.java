package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code bramble deploy}, {@code bramble rollout …} and {@code bramble rollback}: rollouts and how they end. */
final class RolloutCmds {
    /** Exit codes of a followed rollout (--wait, --watch), beside Bramble's 0–4. */
    static final int EXIT_SOME_FAILED = 5;
    static final int EXIT_HALTED = 6;
    static final int EXIT_STOPPED = 7;

    private RolloutCmds() {
    }

    @Command(name = "deploy", description = {"Rolls FUNCTION:VERSION out to a device, a group or a tag selector.",
            "Without thresholds the first failure halts the rollout. A device that does not report within "
                    + "--device-timeout counts as timed out (a failure) and goes back to what it had."},
            exitCodeListHeading = "%nExit codes with --wait or --watch:%n", exitCodeList = {"0:every device succeeded",
            "5:the rollout ended with devices failed or timed out, within its thresholds",
            "6:it halted: a threshold was passed", "7:it was cancelled or rolled back", "1-4:as for every command"})
    static final class Deploy implements Callable<Integer> {
        @Parameters(paramLabel = "FUNCTION:VERSION", description = "e.g. thermostat:3, thermostat:stable (an "
                + "alias), or thermostat for the newest")
        String what;
        @CommandLine.Mixin
        Plan plan;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws InterruptedException {
            String[] fv = what.split(":", 2);
            if (fv.length > 1 && fv[1].equals("none")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "to take " + fv[0] + " off devices, use "
                        + "bramble undeploy " + fv[0] + " --to TARGET");
            }
            return plan.start(spec, fv[0], fv.length > 1 ? fv[1] : "latest");
        }
    }

    @Command(name = "undeploy", description = {"Takes FUNCTION off a device, a group or a tag selector: each device "
            + "stops it, deletes its versions, aliases and saved test events, and reports. A rollout like any other: "
            + "waves, thresholds, deadline, pause, cancel, and rollback (which puts the function back)."},
            exitCodeListHeading = "%nExit codes with --wait or --watch:%n", exitCodeList = {"0:every device succeeded",
            "5:the rollout ended with devices failed or timed out, within its thresholds",
            "6:it halted: a threshold was passed", "7:it was cancelled or rolled back", "1-4:as for every command"})
    static final class Undeploy implements Callable<Integer> {
        @Parameters(paramLabel = "FUNCTION", description = "a function the deployer has published")
        String function;
        @CommandLine.Mixin
        Plan plan;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws InterruptedException {
            return plan.start(spec, function, "none");
        }
    }

    /** Where a rollout goes and how: the options deploy and undeploy share, and starting it. */
    static final class Plan {
        @Option(names = "--to", required = true, description = "device:ID, group:NAME or tag:K=V")
        String target;
        @Option(names = "--canary", description = "N devices or N% first; the rest once every one of them succeeded")
        String canary;
        @Option(names = "--max-failures", description = "halt once more devices than this failed or timed out "
                + "(default 0, or no count limit with --abort-percent)")
        Integer maxFailures;
        @Option(names = "--abort-percent", description = "halt once more than this share (0-100) of the settled "
                + "devices failed or timed out …")
        Integer abortPercent;
        @Option(names = "--abort-after", defaultValue = "1", description = "… counted once this many devices "
                + "settled (default ${DEFAULT-VALUE})")
        int abortAfter;
        @Option(names = "--rate", description = "release at most this many devices per minute (default: all at once)")
        Integer rate;
        @Option(names = "--ramp-factor", description = "an exponential ramp: multiply the rate by this (1-10) …")
        Double rampFactor;
        @Option(names = "--ramp-every", description = "… for every this many devices that succeed")
        Integer rampEvery;
        @Option(names = "--max-rate", description = "… up to this many devices per minute")
        Integer maxRate;
        @Option(names = "--device-timeout", description = "how long a released device has to report: 90s, 30m, 2h, "
                + "1d (default 30m)")
        String deviceTimeout;
        @Option(names = "--wait", description = "follow the rollout on one progress line until it ends; the exit code "
                + "says how it ended")
        boolean await;
        @Option(names = "--watch", description = "follow the rollout printing each device's changes until it ends "
                + "(NDJSON with --json)")
        boolean watch;

        Integer start(CommandLine.Model.CommandSpec spec, String function, String version)
                throws InterruptedException {
            Bramble root = Bramble.root(spec);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("function", function);
            body.put("version", version);
            body.put("target", target);
            if (maxFailures != null) {
                body.put("maxFailures", maxFailures);
            }
            if (canary != null) {
                if (!canary.matches("[0-9]{1,6}%?")) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--canary '" + canary
                            + "' is not allowed; use a number of devices (2) or a percentage (10%)");
                }
                body.put(canary.endsWith("%") ? "canaryPercent" : "canary",
                        Integer.parseInt(canary.replace("%", "")));
            }
            if (rate != null) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("perMinute", rate);
                if (rampFactor != null) {
                    r.put("factor", rampFactor);
                }
                if (rampEvery != null) {
                    r.put("every", rampEvery);
                }
                if (maxRate != null) {
                    r.put("maxPerMinute", maxRate);
                }
                body.put("rate", r);
            } else if (rampFactor != null || rampEvery != null || maxRate != null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--ramp-factor, --ramp-every and "
                        + "--max-rate shape a --rate; give --rate too");
            }
            if (abortPercent != null) {
                body.put("abort", Map.of("failurePercent", abortPercent, "minDevices", abortAfter));
            }
            if (deviceTimeout != null) {
                body.put("deviceTimeoutSeconds", Durations.option(spec, "--device-timeout", deviceTimeout, "smhd",
                        "seconds, minutes, hours or days: 90s, 30m, 2h, 1d").toSeconds());
            }
            Api api = root.deployerApi();
            JsonNode r = api.post("/v1/deployments", body);
            String id = r.path("id").asText();
            String what = what(r);
            if (await || watch) {
                if (!root.json) {
                    spec.commandLine().getOut().println("deployment " + id + ": " + what + " to "
                            + r.path("devicesTotal").asLong() + " device(s)");
                }
                return follow(api, id, r, watch, root.json, spec.commandLine().getOut());
            }
            root.print(r, "deployment " + id + ": " + what + " to " + r.path("devicesTotal").asLong() + " device(s)"
                    + (r.path("canary").asInt() > 0 ? ", " + r.path("canary").asInt() + " first" : "") + "\n"
                    + "follow it: bramble rollout status " + id + " --watch\n");
            return 0;
        }
    }

    @Command(name = "rollout", description = "Rollouts: list, status, pause, resume, cancel.",
            subcommands = {ListCmd.class, Status.class, Pause.class, Resume.class, Cancel.class})
    static final class Rollout {
    }

    @Command(name = "list", description = "Every rollout, newest first, with its progress.")
    static final class ListCmd implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Bramble root = Bramble.root(spec);
            JsonNode r = root.deployerApi().get("/v1/deployments");
            for (JsonNode d : r.path("deployments")) {
                ((ObjectNode) d).put("progress", progress(d)).put("what", what(d));
            }
            root.print(r, Bramble.table(r.path("deployments"), "id", "what", "target", "state", "progress",
                    "createdAt"));
            return 0;
        }
    }

    @Command(name = "status", description = "A rollout's progress, device by device.",
            exitCodeListHeading = "%nExit codes for a rollout that ended (at once, or with --watch):%n",
            exitCodeList = {"0:every device succeeded", "5:the rollout ended with devices failed or timed out, within "
                    + "its thresholds", "6:it halted: a threshold was passed", "7:it was cancelled or rolled back",
                    "1-4:as for every command"})
    static final class Status implements Callable<Integer> {
        @Parameters(paramLabel = "DEPLOYMENT")
        String id;
        @Option(names = "--watch", description = "then follow it, printing each device's changes, until it ends "
                + "(NDJSON with --json)")
        boolean watch;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws InterruptedException {
            Bramble root = Bramble.root(spec);
            Api api = root.deployerApi();
            JsonNode r = api.get("/v1/deployments/" + id);
            if (watch) {
                return follow(api, id, r, true, root.json, spec.commandLine().getOut());
            }
            root.print(r, what(r) + " → " + r.path("target").asText() + ": " + r.path("state").asText() + ", " + progress(r)
                    + (r.path("reason").isTextual() ? "\n" + r.path("reason").asText() : "") + "\n"
                    + Bramble.table(r.path("devices"), "device", "wave", "state", "previousVersion", "errorCode",
                    "error"));
            return open(r) ? 0 : exitCode(r);
        }
    }

    @Command(name = "pause", description = "Stops releasing devices; those already released still report or time "
            + "out. Resume with bramble rollout resume.")
    static final class Pause extends Action {
        Pause() {
            super("pause");
        }
    }

    @Command(name = "resume", description = "Releases devices again, at the rollout's rate, from now.")
    static final class Resume extends Action {
        Resume() {
            super("resume");
        }
    }

    @Command(name = "cancel", description = "Stops a rollout where it is: devices not yet released are skipped.")
    static final class Cancel extends Action {
        Cancel() {
            super("cancel");
        }
    }

    @Command(name = "rollback", description = "Puts every device a rollout reached back on its previous version.")
    static final class Rollback extends Action {
        Rollback() {
            super("rollback");
        }
    }

    /** An operator's action on one rollout: POST /v1/deployments/ID/ACTION. */
    abstract static class Action implements Callable<Integer> {
        private final String action;
        @Parameters(paramLabel = "DEPLOYMENT")
        String id;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        Action(String action) {
            this.action = action;
        }

        @Override
        public Integer call() {
            Bramble root = Bramble.root(spec);
            JsonNode r = root.deployerApi().post("/v1/deployments/" + id + "/" + action, Map.of());
            root.print(r, "deployment " + id + ": " + r.path("state").asText() + ", " + progress(r) + "\n");
            return 0;
        }
    }

    /** {@code 4123/10000 succeeded, 3 failed, 12 timed out, 40 in flight, 5822 waiting}: what is not zero. */
    static String progress(JsonNode d) {
        JsonNode c = d.path("counts");
        StringBuilder sb = new StringBuilder().append(c.path("succeeded").asLong()).append('/')
                .append(d.path("devicesTotal").asLong()).append(" succeeded");
        String[][] parts = {{"failed", "failed"}, {"timed_out", "timed out"}, {"pending", "in flight"},
                {"waiting", "waiting"}, {"skipped", "skipped"}, {"superseded", "superseded"},
                {"rolled_back", "rolled back"}};
        for (String[] p : parts) {
            long n = c.path(p[0]).asLong();
            if (n > 0) {
                sb.append(", ").append(n).append(' ').append(p[1]);
            }
        }
        return sb.toString();
    }

    /** How a rollout that ended is told in the exit code. */
    static int exitCode(JsonNode d) {
        return switch (d.path("state").asText()) {
            case "succeeded" -> d.path("counts").path("succeeded").asLong() == d.path("devicesTotal").asLong() ? 0
                    : EXIT_SOME_FAILED;
            case "halted" -> EXIT_HALTED;
            default -> EXIT_STOPPED;
        };
    }

    private static boolean open(JsonNode d) {
        String s = d.path("state").asText();
        return s.equals("in_progress") || s.equals("paused");
    }

    /**
     * Follows a rollout until it ends, once a second. Without {@code changes}: one progress line, printed when it
     * changes. With: each device's change as a line (NDJSON with {@code json}) and the rollout's own.
     */
    static int follow(Api api, String id, JsonNode first, boolean changes, boolean json, PrintWriter out)
            throws InterruptedException {
        try {
            return following(api, id, first, changes, json, out);
        } catch (java.io.IOException e) {
            throw new Api.Failure(Bramble.EXIT_FAILED, e.getMessage());
        }
    }

    private static int following(Api api, String id, JsonNode first, boolean changes, boolean json, PrintWriter out)
            throws InterruptedException, java.io.IOException {
        Map<String, String> seen = new HashMap<>();
        String state = null;
        String line = null;
        JsonNode d = first;
        long cursor = 0; // the latest device change seen
        while (true) {
            cursor = Math.max(cursor, d.path("cursor").asLong());
            if (changes) {
                for (JsonNode dev : d.path("devices")) {
                    String device = dev.path("device").asText();
                    String now = dev.path("state").asText();
                    String before = seen.put(device, now);
                    if (!now.equals(before)) {
                        Map<String, Object> e = new LinkedHashMap<>();
                        e.put("device", device);
                        e.put("from", before);
                        e.put("to", now);
                        if (dev.path("errorCode").isTextual()) {
                            e.put("errorCode", dev.path("errorCode").asText());
                            e.put("error", dev.path("error").asText());
                        }
                        out.println(json ? ndjson(e) : device + ": " + (before == null ? "" : before + " → ") + now
                                + (dev.path("errorCode").isTextual() ? " " + dev.path("errorCode").asText() + ": "
                                + dev.path("error").asText() : ""));
                    }
                }
                if (!d.path("state").asText().equals(state)) {
                    state = d.path("state").asText();
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("deployment", id);
                    e.put("state", state);
                    e.put("progress", progress(d));
                    if (d.path("reason").isTextual()) {
                        e.put("reason", d.path("reason").asText());
                    }
                    out.println(json ? ndjson(e) : "deployment " + id + ": " + state + ", " + progress(d)
                            + (d.path("reason").isTextual() ? " (" + d.path("reason").asText() + ")" : ""));
                }
            } else if (!json) {
                String l = progress(d) + (d.path("state").asText().equals("in_progress") ? ""
                        : " (" + d.path("state").asText() + ")");
                if (!l.equals(line)) {
                    out.println(l);
                    line = l;
                }
            }
            out.flush();
            if (!open(d)) {
                if (!changes && json) {
                    out.println(Api.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(d));
                } else if (!changes && d.path("reason").isTextual()) {
                    out.println(d.path("reason").asText());
                }
                out.flush();
                return exitCode(d);
            }
            Thread.sleep(1_000);
            // the progress line needs only the counts, the changes only the devices that changed: not ten thousand
            // device rows each second. Five seconds of overlap, for replicas whose clocks differ a little; what
            // was seen already is not printed again.
            d = api.get("/v1/deployments/" + id + (changes ? "?changedSince=" + Math.max(0, cursor - 5_000)
                    : "?devices=false"));
        }
    }

    private static String ndjson(Map<String, Object> e) {
        try {
            return Api.JSON.writeValueAsString(e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException ex) {
            throw new IllegalStateException(ex);
        }
    }

    /** {@code thermostat:3}, or {@code thermostat:none} for an undeploy. */
    static String what(JsonNode deployment) {
        return deployment.path("function").asText() + ":" + (deployment.path("undeploy").asBoolean() ? "none"
                : deployment.path("version").asText());
    }
}
