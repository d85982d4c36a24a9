package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bramble.protocol.BundleException;
import dev.bramble.protocol.InvalidManifestException;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code bramble}, the operator's CLI. Exit codes: 0 done, 1 the operation failed (the message says why),
 * 2 usage, 3 deployer or device unreachable, 4 refused (401/403: the token).
 */
@Command(name = "bramble", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT,
        versionProvider = Bramble.Version.class,
        description = "Keys, bundles, publishing, rollouts and devices for a Bramble fleet.",
        subcommands = {KeysCmd.class, BundleCmd.class, SignersCmd.class, PublishCmd.class, FunctionsCmd.class,
                RolloutCmds.Deploy.class, RolloutCmds.Undeploy.class,
                RolloutCmds.Rollout.class, RolloutCmds.Rollback.class,
                DevicesCmd.class, EnrolmentTokensCmd.class, InvokeCmd.class, LogsCmd.class, MetricsCmd.class,
                DeviceCmd.class, ProfileCmd.class, ConsoleCmd.class, Init.class, AutoComplete.GenerateCompletion.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:the operation failed; the message says why", "2:usage",
                "3:the deployer or device could not be reached", "4:refused: a missing or wrong token (401/403)"})
public final class Bramble {
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_UNREACHABLE = 3;
    static final int EXIT_AUTH = 4;

    @Option(names = "--deployer", defaultValue = "${env:BRAMBLE_DEPLOYER}", description = "the deployer's URL (env "
            + "BRAMBLE_DEPLOYER; else the profile's; else " + Profiles.DEFAULT_DEPLOYER + ")",
            scope = CommandLine.ScopeType.INHERIT)
    String deployer;

    @Option(names = "--token", defaultValue = "${env:BRAMBLE_TOKEN}", description = "the deployer's admin token (env "
            + "BRAMBLE_TOKEN; else read from the profile's token-file)", scope = CommandLine.ScopeType.INHERIT)
    String token;

    @Option(names = "--ca-file", defaultValue = "${env:BRAMBLE_CA_FILE}", description = "PEM certificates the "
            + "deployer's https certificate must chain to (env BRAMBLE_CA_FILE; else the profile's ca-file; else "
            + "the JDK's CAs)", scope = CommandLine.ScopeType.INHERIT)
    Path caFile;

    @Option(names = "--profile", defaultValue = "${env:BRAMBLE_PROFILE}", description = "a named deployer from the "
            + "config file (env BRAMBLE_PROFILE; else the file's default)", scope = CommandLine.ScopeType.INHERIT)
    String profile;

    @Option(names = "--config", defaultValue = "${env:BRAMBLE_CONFIG}", description = "the config file with the "
            + "profiles (env BRAMBLE_CONFIG; else $XDG_CONFIG_HOME/bramble/config.yaml or "
            + "~/.config/bramble/config.yaml)", scope = CommandLine.ScopeType.INHERIT)
    Path config;

    @Option(names = "--json", description = "print JSON, for scripts", scope = CommandLine.ScopeType.INHERIT)
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line; what tests call. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Bramble());
        // bramble local, from brambled's jar when it is installed beside the CLI (it runs the daemon's code).
        for (Subcommands more : java.util.ServiceLoader.load(Subcommands.class)) {
            more.subcommands().forEach(cl::addSubcommand);
        }
        cl.setOut(out).setErr(err);
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof Api.Failure f) {
                line.getErr().println("bramble: " + f.getMessage());
                return f.exitCode;
            }
            if (e instanceof BundleException | e instanceof InvalidManifestException | e instanceof IOException) {
                line.getErr().println("bramble: " + e.getMessage());
                return EXIT_FAILED;
            }
            throw e;
        });
        return cl.execute(args);
    }

    Api deployerApi() {
        Target t = target();
        return new Api(t.url(), t.token(), t.caFile());
    }

    /** The deployer this command line speaks to, the token it sends and the CA it trusts: flags first, then the profile. */
    record Target(String url, String token, String profile, Path caFile) {
    }

    Target target() {
        Profiles profiles = profiles();
        boolean named = profile != null && !profile.isBlank();
        java.util.Optional<Profiles.Profile> p = profiles.select(profile);
        // A default profile's token goes only to that profile's deployer: --deployer elsewhere without --profile
        // must not carry it to another host.
        if (!named && p.isPresent() && deployer != null && !deployer.equals(p.get().deployer())) {
            p = java.util.Optional.empty();
        }
        String url = deployer != null ? deployer : p.map(Profiles.Profile::deployer).orElse(Profiles.DEFAULT_DEPLOYER);
        String problem = Profiles.urlProblem(url);
        if (problem != null) {
            throw new Api.Failure(EXIT_USAGE, "the deployer URL '" + url + "' " + problem);
        }
        String t = token != null && !token.isBlank() ? token.strip()
                : p.filter(q -> q.tokenFile() != null)
                        .map(q -> Profiles.token(q, spec.commandLine().getErr())).orElse("");
        Path ca = caFile != null ? caFile : p.map(Profiles.Profile::caFile).orElse(null);
        return new Target(url, t, p.map(Profiles.Profile::name).orElse(null), ca);
    }

    Profiles profiles() {
        return Profiles.read(config != null ? config : Profiles.location(System.getenv()));
    }

    void print(Object o, String text) {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            try {
                out.println(Api.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
            } catch (IOException e) {
                throw new Api.Failure(EXIT_FAILED, e.getMessage());
            }
        } else {
            out.print(text);
        }
        out.flush();
    }

    static String table(JsonNode rows, String... columns) {
        StringBuilder sb = new StringBuilder();
        int[] w = new int[columns.length];
        List<String[]> cells = new ArrayList<>();
        cells.add(columns);
        for (JsonNode r : rows) {
            String[] c = new String[columns.length];
            for (int i = 0; i < columns.length; i++) {
                JsonNode v = r.path(columns[i]);
                c[i] = v.isMissingNode() || v.isNull() ? "-" : v.isValueNode() ? v.asText() : v.toString();
            }
            cells.add(c);
        }
        for (String[] c : cells) {
            for (int i = 0; i < c.length; i++) {
                w[i] = Math.max(w[i], c[i].length());
            }
        }
        for (String[] c : cells) {
            for (int i = 0; i < c.length; i++) {
                sb.append(String.format("%-" + (w[i] + 2) + "s", c[i]));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Bramble.class.getPackage().getImplementationVersion();
            return new String[]{"bramble " + (v == null ? "dev" : v)};
        }
    }

    static Bramble root(CommandLine.Model.CommandSpec spec) {
        CommandLine c = spec.commandLine();
        while (c.getParent() != null) {
            c = c.getParent();
        }
        return (Bramble) c.getCommand();
    }
}
