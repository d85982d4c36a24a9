package dev.bramble.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code bramble console}: where the fleet's (or a device's) web console is, for the deployer the profile names,
 * after checking that the token it would sign in with is accepted there.
 */
@Command(name = "console", description = {"The web console's address: the fleet's, on the deployer this command "
        + "line speaks to (--profile, --deployer), or a device's with --device. Checks the token first."})
final class ConsoleCmd implements Callable<Integer> {
    @Option(names = "--device", description = "a device's URL, e.g. http://pi.local:9000, for its own console")
    String device;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Bramble root = Bramble.root(spec);
        Map<String, Object> out = new LinkedHashMap<>();
        String text;
        if (device != null) {
            String problem = Profiles.urlProblem(device);
            if (problem != null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--device '" + device + "' " + problem);
            }
            String url = device.replaceAll("/+$", "") + "/console/";
            new Api(device, "").get("/v1/health");
            out.put("console", url);
            text = "device console: " + url + "\nsign in with the device's admin token (on the device: "
                    + "sudo cat /var/lib/bramble/admin.token)\n";
        } else {
            Bramble.Target t = root.target();
            // the same call the console makes first: a wrong token is found here, not in the browser
            new Api(t.url(), t.token(), t.caFile()).get("/v1/signers");
            String url = t.url().replaceAll("/+$", "") + "/console/";
            out.put("console", url);
            out.put("profile", t.profile());
            text = "fleet console: " + url + (t.profile() != null ? " (profile " + t.profile() + ")" : "")
                    + "\nsign in with the deployer's admin token; this one is accepted\n";
        }
        root.print(out, text);
        return 0;
    }
}
