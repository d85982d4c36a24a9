package dev.bramble.cli;

import dev.bramble.protocol.Signing;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.concurrent.Callable;

/** {@code bramble keys …}: Ed25519 signing keys. */
@Command(name = "keys", description = "Signing keys.", subcommands = KeysCmd.Generate.class)
final class KeysCmd {
    @Command(name = "generate", description = "Writes NAME.key (0600) and NAME.pub: an Ed25519 key pair in PEM.")
    static final class Generate implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", description = "file name without extension, e.g. ./keys/author")
        Path base;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            KeyPair k = Signing.generate();
            Signing.write(k, base);
            spec.commandLine().getOut().println("key " + Signing.keyId(k.getPublic()) + ": " + base + ".key (keep "
                    + "it secret), " + base + ".pub (give it to the deployer and devices)");
            return 0;
        }
    }
}
