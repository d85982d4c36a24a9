package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code bramble enrolment-token …}: the tokens devices enrol with. */
@Command(name = "enrolment-token", description = "Tokens devices enrol with.",
        subcommands = EnrolmentTokensCmd.Create.class)
final class EnrolmentTokensCmd {
    @Command(name = "create", description = "A token for agent.enrolment-token in a device's bramble.yaml.")
    static final class Create implements Callable<Integer> {
        @Option(names = "--group", description = "the group enrolled devices join")
        String group;
        @Option(names = "--uses", defaultValue = "1", description = "devices that may enrol with it")
        int uses;
        @Option(names = "--ttl", defaultValue = "24h", description = "how long it may be used: 10m, 12h, 30d "
                + "(default ${DEFAULT-VALUE}; 1m to 366d)")
        String ttl;
        @Option(names = "--tag", paramLabel = "K=V", description = "a tag the devices get (repeatable)")
        List<String> tags = new ArrayList<>();
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Bramble root = Bramble.root(spec);
            Map<String, Object> body = new LinkedHashMap<>();
            if (group != null) {
                body.put("group", group);
            }
            body.put("uses", uses);
            body.put("ttlSeconds", Durations.option(spec, "--ttl", ttl, "mhd", "minutes, hours or days: 10m, "
                    + "12h, 30d").toSeconds());
            Map<String, String> tagMap = new LinkedHashMap<>();
            for (String t : tags) {
                int eq = t.indexOf('=');
                if (eq < 1 || eq == t.length() - 1) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--tag '" + t + "' is not "
                            + "allowed; use KEY=VALUE, e.g. site=north");
                }
                tagMap.put(t.substring(0, eq), t.substring(eq + 1));
            }
            body.put("tags", tagMap);
            JsonNode r = root.deployerApi().post("/v1/enrolment-tokens", body);
            root.print(r, r.path("token").asText() + "\n");
            return 0;
        }
    }
}
