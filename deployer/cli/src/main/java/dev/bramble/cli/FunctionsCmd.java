package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.Map;
import java.util.concurrent.Callable;

/** {@code bramble functions …}: published functions, their versions and aliases. */
@Command(name = "functions", description = "Published functions.", subcommands = {FunctionsCmd.ListCmd.class,
        FunctionsCmd.Versions.class, FunctionsCmd.Alias.class})
final class FunctionsCmd {
    @Command(name = "alias", description = "Points an alias (e.g. stable) at a version; deploy F:ALIAS uses it.")
    static final class Alias implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "FUNCTION")
        String function;
        @Parameters(index = "1", paramLabel = "ALIAS")
        String alias;
        @Parameters(index = "2", paramLabel = "VERSION")
        int version;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Bramble root = Bramble.root(spec);
            JsonNode r = root.deployerApi().put("/v1/functions/" + function + "/aliases/" + alias,
                    Map.of("version", version));
            root.print(r, function + ":" + alias + " → " + version + "\n");
            return 0;
        }
    }

    @Command(name = "list", description = "Every function with its newest version.")
    static final class ListCmd implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Bramble root = Bramble.root(spec);
            JsonNode r = root.deployerApi().get("/v1/functions");
            root.print(r, Bramble.table(r.path("functions"), "name", "latest", "versions"));
            return 0;
        }
    }

    @Command(name = "versions", description = "A function's versions.")
    static final class Versions implements Callable<Integer> {
        @Parameters(paramLabel = "FUNCTION")
        String function;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Bramble root = Bramble.root(spec);
            JsonNode r = root.deployerApi().get("/v1/functions/" + function + "/versions");
            root.print(r, Bramble.table(r.path("versions"), "version", "sha256", "keyId", "createdAt")
                    + (r.path("aliases").isEmpty() ? "" : "aliases:\n" + Bramble.table(r.path("aliases"), "name",
                    "version")));
            return 0;
        }
    }
}
