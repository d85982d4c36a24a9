package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code bramble device …}: a device spoken to directly, without the deployer. */
@Command(name = "device", description = "A device directly, without the deployer.",
        subcommands = DeviceCmd.DeployDirect.class)
final class DeviceCmd {
    @Command(name = "deploy", description = "Deploys a bundle straight to a device (offline), with its admin "
            + "token.")
    static final class DeployDirect implements Callable<Integer> {
        @Parameters(paramLabel = "BUNDLE")
        Path bundle;
        @Option(names = "--device", required = true, description = "the device's URL")
        String device;
        @Option(names = "--alias", defaultValue = "live", description = "the alias the new version takes "
                + "(default: ${DEFAULT-VALUE}, what unqualified calls use)")
        String alias;
        @Option(names = "--weight", description = "a canary: the alias stays at its version and sends this share "
                + "(0.0 to 1.0) of its calls to the new one, as a Lambda weighted alias")
        Double weight;
        @CommandLine.Mixin
        DeviceToken deviceToken;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            Bramble root = Bramble.root(spec);
            if (weight != null && !(weight >= 0 && weight <= 1)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--weight " + weight
                        + " is not allowed; use a share from 0.0 to 1.0");
            }
            Path sig = BundleCmd.signatureOf(bundle);
            String query = "?alias=" + java.net.URLEncoder.encode(alias, java.nio.charset.StandardCharsets.UTF_8)
                    + (weight == null ? "" : "&weight=" + weight);
            JsonNode r = new Api(device, deviceToken.token(spec)).upload("/v1/deployments" + query, bundle,
                    Files.exists(sig) ? Files.readString(sig).trim() : "", spec.commandLine().getErr());
            String version = r.path("function").asText() + ":" + r.path("version").asText();
            root.print(r, weight == null ? version + (alias.equals("live") ? " live" : " is " + alias) + " on "
                    + device + "\n"
                    : version + " takes " + Math.round(weight * 1000) / 10.0 + " % of " + alias + "'s calls on "
                    + device + "\n");
            return 0;
        }
    }
}
