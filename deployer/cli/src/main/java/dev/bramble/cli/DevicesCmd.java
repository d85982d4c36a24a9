package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code bramble devices …}: the enrolled devices, their groups and tags, token rotation and revocation. */
@Command(name = "devices", description = "Enrolled devices.", subcommands = {DevicesCmd.ListCmd.class,
        DevicesCmd.Show.class, DevicesCmd.Tag.class, DevicesCmd.Untag.class, DevicesCmd.SetGroup.class,
        DevicesCmd.RotateToken.class, DevicesCmd.Revoke.class})
final class DevicesCmd {
    @Command(name = "list", description = "Every device.")
    static final class ListCmd implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Bramble root = Bramble.root(spec);
            JsonNode r = root.deployerApi().get("/v1/devices");
            root.print(r, Bramble.table(r.path("devices"), "id", "name", "group", "tags", "revision", "lastSeen",
                    "revokedAt"));
            return 0;
        }
    }

    @Command(name = "show", description = "A device: its desired state and last status.")
    static final class Show implements Callable<Integer> {
        @Parameters(paramLabel = "DEVICE")
        String id;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            Bramble root = Bramble.root(spec);
            JsonNode r = root.deployerApi().get("/v1/devices/" + id);
            root.print(r, Api.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r) + "\n");
            return 0;
        }
    }

    @Command(name = "tag", description = "Sets tags on a device (tag:K=V targets select by them); others stay.")
    static final class Tag implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DEVICE")
        String id;
        @Parameters(index = "1..*", paramLabel = "KEY=VALUE", arity = "1..*")
        List<String> tags;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Map<String, String> add = new LinkedHashMap<>();
            for (String t : tags) {
                int eq = t.indexOf('=');
                if (eq < 1 || eq == t.length() - 1) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "tag '" + t + "' is not allowed; use "
                            + "KEY=VALUE, e.g. site=north");
                }
                add.put(t.substring(0, eq), t.substring(eq + 1));
            }
            return change(spec, id, Map.of("addTags", add));
        }
    }

    @Command(name = "untag", description = "Takes tags off a device, by key.")
    static final class Untag implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DEVICE")
        String id;
        @Parameters(index = "1..*", paramLabel = "KEY", arity = "1..*")
        List<String> keys;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            return change(spec, id, Map.of("removeTags", keys));
        }
    }

    @Command(name = "set-group", description = "Moves a device to a group (group:NAME targets select by it). "
            + "Rollouts already started keep the devices they chose.")
    static final class SetGroup implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DEVICE")
        String id;
        @Parameters(index = "1", paramLabel = "GROUP", arity = "0..1")
        String group;
        @Option(names = "--none", description = "in no group")
        boolean none;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if ((group == null) == !none) {
                throw new CommandLine.ParameterException(spec.commandLine(), "name a GROUP, or give --none");
            }
            return change(spec, id, Map.of("group", none ? "" : group));
        }
    }

    private static int change(CommandLine.Model.CommandSpec spec, String id, Map<String, Object> body) {
        Bramble root = Bramble.root(spec);
        JsonNode r = root.deployerApi().put("/v1/devices/" + id, body);
        root.print(r, "device " + id + ": group " + (r.path("group").isTextual() ? r.path("group").asText() : "none")
                + ", tags " + r.path("tags") + "\n");
        return 0;
    }

    @Command(name = "revoke", description = {"Cuts a device off: its token stops working at once, it takes part in "
            + "no new rollout, and rollouts waiting on it skip it. It keeps running what it has; to bring it back, give "
            + "it a new enrolment token."})
    static final class Revoke implements Callable<Integer> {
        @Parameters(paramLabel = "DEVICE")
        String id;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Bramble root = Bramble.root(spec);
            JsonNode r = root.deployerApi().post("/v1/devices/" + id + "/revoke", Map.of());
            root.print(r, "device " + id + " revoked at " + r.path("revokedAt").asText() + "\n");
            return 0;
        }
    }

    @Command(name = "rotate-token", description = {"Has a device replace its token without enrolling again: at its "
            + "next poll it asks for a new one with the old, and the old one stops working once the new one is first "
            + "used. Devices also do it by themselves once their token is older than the deployer's "
            + "tokens.rotate-after-days."})
    static final class RotateToken implements Callable<Integer> {
        @Parameters(paramLabel = "DEVICE")
        String id;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Bramble root = Bramble.root(spec);
            JsonNode r = root.deployerApi().post("/v1/devices/" + id + "/rotate-token", Map.of());
            root.print(r, "device " + id + ": token rotation requested; it happens at the device's next poll "
                    + "(bramble devices show " + id + " says when)\n");
            return 0;
        }
    }
}
