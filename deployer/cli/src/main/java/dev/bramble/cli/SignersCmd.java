package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code bramble signers …}: the keys the deployer accepts signatures from. */
@Command(name = "signers", description = "Keys the deployer accepts signatures from.",
        subcommands = SignersCmd.Add.class)
final class SignersCmd {
    @Command(name = "add", description = "Registers a public key (NAME.pub) with the deployer.")
    static final class Add implements Callable<Integer> {
        @Parameters(paramLabel = "NAME")
        String name;
        @Option(names = "--key", required = true, description = "the public key, NAME.pub")
        Path key;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            Bramble root = Bramble.root(spec);
            JsonNode r = root.deployerApi().post("/v1/signers", Map.of("name", name, "publicKey",
                    Files.readString(key)));
            root.print(r, "signer " + name + ": key " + r.path("keyId").asText() + "\n");
            return 0;
        }
    }
}
