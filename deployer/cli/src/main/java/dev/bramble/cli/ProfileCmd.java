package dev.bramble.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code bramble profile}: the named deployers in the config file. */
@Command(name = "profile", description = "Named deployers (URL and token file) in ~/.config/bramble/config.yaml.",
        subcommands = {ProfileCmd.ListCmd.class, ProfileCmd.SetCmd.class})
final class ProfileCmd {
    @Command(name = "list", description = "The profiles, the default marked with *.")
    static final class ListCmd implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Bramble root = Bramble.root(spec);
            Profiles profiles = root.profiles();
            List<Map<String, Object>> rows = new ArrayList<>();
            for (Profiles.Profile p : profiles.all().values()) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("name", p.name());
                row.put("default", p.name().equals(profiles.defaultName()));
                row.put("deployer", p.deployer());
                row.put("tokenFile", p.tokenFile() == null ? null : p.tokenFile().toString());
                row.put("caFile", p.caFile() == null ? null : p.caFile().toString());
                rows.add(row);
            }
            StringBuilder text = new StringBuilder();
            if (rows.isEmpty()) {
                text.append("no profiles in ").append(profiles.file())
                        .append("; add one: bramble profile set NAME --url URL --token-file FILE\n");
            } else {
                for (Map<String, Object> r : rows) {
                    text.append(Boolean.TRUE.equals(r.get("default")) ? "* " : "  ").append(r.get("name"))
                            .append("  ").append(r.get("deployer") == null ? "-" : r.get("deployer"))
                            .append("  ").append(r.get("tokenFile") == null ? "-" : r.get("tokenFile")).append('\n');
                }
            }
            root.print(Map.of("file", profiles.file().toString(), "profiles", rows), text.toString());
            return 0;
        }
    }

    @Command(name = "set", description = "Adds or replaces a profile; the first one becomes the default.")
    static final class SetCmd implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", description = "1 to 64 letters, digits, '.', '-' or '_'")
        String name;
        @Option(names = "--url", required = true, description = "the deployer's URL, e.g. http://deployer:8700")
        String url;
        @Option(names = "--token-file", description = "the file holding its admin token (kept 0600)")
        Path tokenFile;
        @Option(names = "--ca", description = "PEM certificates its https certificate must chain to (a private CA)")
        Path ca;
        @Option(names = "--default", description = "make it the default profile")
        boolean makeDefault;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            if (!Profiles.NAME.matcher(name).matches()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "profile name '" + name + "' is not "
                        + "allowed; use 1 to 64 letters, digits, '.', '-' or '_'");
            }
            String problem = Profiles.urlProblem(url);
            if (problem != null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--url '" + url + "' " + problem);
            }
            Path token = tokenFile == null ? null : tokenFile.toAbsolutePath().normalize();
            if (token != null && !Files.isReadable(token)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--token-file " + token + " cannot be "
                        + "read; copy the deployer's admin.token there first (chmod 600)");
            }
            Path caPath = ca == null ? null : ca.toAbsolutePath().normalize();
            if (caPath != null && !Files.isReadable(caPath)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--ca " + caPath + " cannot be read");
            }
            Bramble root = Bramble.root(spec);
            Profiles saved = root.profiles().with(new Profiles.Profile(name, url, token, caPath), makeDefault);
            root.print(Map.of("file", saved.file().toString(), "profile", name, "default", saved.defaultName()),
                    "profile " + name + " → " + url + " saved in " + saved.file()
                            + (name.equals(saved.defaultName()) ? " (the default)" : "") + "\n");
            return 0;
        }
    }
}
