package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bramble.protocol.Bundle;
import dev.bramble.protocol.BundleException;
import dev.bramble.protocol.InvalidManifestException;
import dev.bramble.protocol.ManifestParser;
import dev.bramble.protocol.Signing;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * {@code bramble}, the operator's CLI. Exit codes: 0 done, 1 the operation failed (the message says why),
 * 2 usage, 3 deployer or device unreachable, 4 refused (401/403: the token).
 */
@Command(name = "bramble", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT,
        versionProvider = Bramble.Version.class,
        description = "Keys, bundles, publishing, rollouts and devices for a Bramble fleet.",
        subcommands = {Bramble.Keys.class, Bramble.BundleCmd.class, Bramble.Signers.class, Bramble.Publish.class,
                Bramble.Functions.class, RolloutCmds.Deploy.class, RolloutCmds.Undeploy.class,
                RolloutCmds.Rollout.class, RolloutCmds.Rollback.class,
                DevicesCmd.class, Bramble.EnrolmentTokens.class, Bramble.Invoke.class, Bramble.Logs.class, Bramble.MetricsCmd.class,
                Bramble.DeviceCmd.class, ProfileCmd.class, ConsoleCmd.class, Init.class, AutoComplete.GenerateCompletion.class},
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

    // --- keys and bundles: offline ------------------------------------------------------------------------------

    @Command(name = "keys", description = "Signing keys.", subcommands = Keys.Generate.class)
    static final class Keys {
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

    @Command(name = "bundle", description = "Function bundles.", subcommands = {BundleCmd.Build.class,
            BundleCmd.Sign.class, BundleCmd.Inspect.class})
    static final class BundleCmd {
        @Command(name = "build", description = {"function.json and jar(s), or a zip in Lambda's layout, → a bundle "
                + "zip, checked as a device would.", "The manifest is --manifest, else the function.json inside a "
                + "given zip, else made from --name and --handler (with --memory, --timeout, --runtime).",
                "The same inputs give the same bytes (SOURCE_DATE_EPOCH, else 1980-01-01, as every entry's time)."})
        static final class Build implements Callable<Integer> {
            @Option(names = "--manifest", description = "function.json")
            Path manifest;
            @Option(names = "--name", description = "the function's name, when there is no function.json")
            String name;
            @Option(names = "--handler", description = "its handler (com.example.Handler[::method]), likewise")
            String handler;
            @Option(names = "--memory", description = "memoryMb, likewise (default 128)")
            Integer memory;
            @Option(names = "--timeout", description = "timeoutSeconds, likewise (default 3)")
            Integer timeout;
            @Option(names = "--runtime", description = "runtime, likewise (default java21)")
            String runtime;
            @Option(names = {"-o", "--output"}, required = true, description = "the bundle to write")
            Path output;
            @Parameters(paramLabel = "JAR|ZIP", arity = "1..*", description = "jars (a shaded one, or the function's "
                    + "and its dependencies) go into lib/; a zip (Lambda's layout: classes at the top, lib/) is "
                    + "taken entry by entry")
            List<Path> inputs;
            @CommandLine.Spec
            CommandLine.Model.CommandSpec spec;

            @Override
            public Integer call() throws IOException {
                byte[] manifestJson = manifestJson();
                ManifestParser.parse(manifestJson);
                Path tmp = Files.createTempFile(output.toAbsolutePath().getParent(), ".bundle-", ".zip");
                java.time.LocalDateTime stamp = stamp();
                try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(tmp))) {
                    zip.putNextEntry(entry("function.json", stamp));
                    zip.write(manifestJson);
                    zip.closeEntry();
                    java.util.Set<String> names = new java.util.HashSet<>(List.of("function.json"));
                    for (Path input : inputs) {
                        if (input.getFileName().toString().endsWith(".zip")) {
                            copyEntries(input, zip, names, stamp);
                            continue;
                        }
                        String entry = "lib/" + input.getFileName();
                        if (!names.add(entry)) {
                            throw problem("two jars are named " + input.getFileName() + "; a bundle's lib/ holds "
                                    + "each name once");
                        }
                        zip.putNextEntry(entry(entry, stamp));
                        Files.copy(input, zip);
                        zip.closeEntry();
                    }
                } catch (RuntimeException | IOException e) {
                    Files.deleteIfExists(tmp);
                    throw e;
                }
                Bundle b;
                try {
                    b = Bundle.open(tmp, Bundle.Limits.DEFAULT);
                } catch (RuntimeException e) {
                    Files.deleteIfExists(tmp);
                    throw e;
                }
                Files.move(tmp, output, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                spec.commandLine().getOut().println(output + ": " + b.manifest().name() + ", sha256 " + b.sha256());
                return 0;
            }

            /** --manifest, else a given zip's function.json, else one made from the flags. */
            private byte[] manifestJson() throws IOException {
                boolean flags = name != null || handler != null || memory != null || timeout != null
                        || runtime != null;
                if (manifest != null) {
                    if (flags) {
                        throw problem("give --manifest or --name/--handler/--memory/--timeout/--runtime, not both");
                    }
                    return Files.readAllBytes(manifest);
                }
                for (Path input : inputs) {
                    if (input.getFileName().toString().endsWith(".zip")) {
                        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(input.toFile())) {
                            ZipEntry inside = z.getEntry("function.json");
                            if (inside != null && !flags) {
                                try (var in = z.getInputStream(inside)) {
                                    return in.readAllBytes();
                                }
                            }
                        }
                    }
                }
                if (name == null || handler == null) {
                    throw problem("no function.json: give --manifest, a zip that holds one, or --name and "
                            + "--handler (with --memory, --timeout, --runtime as wanted)");
                }
                Map<String, Object> m = new java.util.LinkedHashMap<>();
                m.put("name", name);
                m.put("runtime", runtime == null ? "java21" : runtime);
                m.put("handler", handler);
                if (memory != null) {
                    m.put("memoryMb", memory);
                }
                if (timeout != null) {
                    m.put("timeoutSeconds", timeout);
                }
                return new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter()
                        .writeValueAsBytes(m);
            }

            /** A Lambda-layout zip's entries, as they are (its function.json is the manifest, if it is used). */
            private void copyEntries(Path from, ZipOutputStream zip, java.util.Set<String> names,
                                     java.time.LocalDateTime stamp) throws IOException {
                try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(from.toFile())) {
                    List<? extends ZipEntry> entries = java.util.Collections.list(z.entries()).stream()
                            .filter(e -> !e.isDirectory() && !e.getName().equals("function.json"))
                            .sorted(java.util.Comparator.comparing(ZipEntry::getName)).toList();
                    for (ZipEntry e : entries) {
                        if (!names.add(e.getName())) {
                            throw problem(from + ": entry '" + e.getName() + "' is also given by another input");
                        }
                        zip.putNextEntry(entry(e.getName(), stamp));
                        try (var in = z.getInputStream(e)) {
                            in.transferTo(zip);
                        }
                        zip.closeEntry();
                    }
                }
            }

            private CommandLine.ParameterException problem(String message) {
                return new CommandLine.ParameterException(spec.commandLine(), message);
            }
        }

        /**
         * The time every entry carries: SOURCE_DATE_EPOCH when set (reproducible-builds.org), else the zip
         * format's earliest, so that the same manifest and jars give the same bytes, the same digest, and so no
         * new version on a deployer or device.
         */
        static java.time.LocalDateTime stamp() {
            String epoch = System.getenv("SOURCE_DATE_EPOCH");
            if (epoch != null && epoch.matches("\\d{1,12}")) {
                java.time.LocalDateTime t = java.time.LocalDateTime.ofEpochSecond(Long.parseLong(epoch), 0,
                        java.time.ZoneOffset.UTC);
                if (t.getYear() >= 1980) {
                    return t;
                }
            }
            return java.time.LocalDateTime.of(1980, 1, 1, 0, 0, 2);
        }

        private static ZipEntry entry(String name, java.time.LocalDateTime stamp) {
            ZipEntry e = new ZipEntry(name);
            e.setTimeLocal(stamp); // local time as the zip stores it: the same bytes in every time zone
            return e;
        }

        @Command(name = "sign", description = "Signs a bundle's SHA-256; writes BUNDLE.sig.")
        static final class Sign implements Callable<Integer> {
            @Parameters(paramLabel = "BUNDLE")
            Path bundle;
            @Option(names = "--key", required = true, description = "the private key (NAME.key); NAME.pub beside it")
            Path key;
            @CommandLine.Spec
            CommandLine.Model.CommandSpec spec;

            @Override
            public Integer call() throws IOException {
                Bundle b = Bundle.open(bundle, Bundle.Limits.DEFAULT);
                Path pub = key.resolveSibling(key.getFileName().toString().replaceAll("\\.key$", "") + ".pub");
                PublicKey p = Signing.readPublic(pub);
                Signing.BundleSignature s = Signing.sign(b.sha256(), Signing.readPrivate(key), p);
                Path sig = signatureOf(bundle);
                Files.writeString(sig, s.toJson() + "\n");
                spec.commandLine().getOut().println(sig + ": " + b.manifest().name() + " sha256 " + b.sha256()
                        + " signed by " + s.keyId());
                return 0;
            }
        }

        @Command(name = "inspect", description = "What a bundle holds: manifest, digest, signature.")
        static final class Inspect implements Callable<Integer> {
            @Parameters(paramLabel = "BUNDLE")
            Path bundle;
            @CommandLine.Spec
            CommandLine.Model.CommandSpec spec;

            @Override
            public Integer call() throws IOException {
                Bundle b = Bundle.open(bundle, Bundle.Limits.DEFAULT);
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("function", b.manifest().name());
                out.put("handler", b.manifest().handler());
                out.put("memoryMb", b.manifest().memoryMb());
                out.put("sha256", b.sha256());
                out.put("size", b.size());
                out.put("triggers", b.manifest().triggers().stream().map(t -> t.type() + ":" + t.name()).toList());
                Path sig = signatureOf(bundle);
                out.put("signature", Files.exists(sig) ? Signing.BundleSignature.parse(Files.readString(sig)).keyId()
                        : null);
                Bramble root = root(spec);
                StringBuilder sb = new StringBuilder();
                out.forEach((k, v) -> sb.append(String.format("%-10s %s%n", k, v)));
                root.print(out, sb.toString());
                return 0;
            }
        }

        static Path signatureOf(Path bundle) {
            return bundle.resolveSibling(bundle.getFileName() + ".sig");
        }
    }

    // --- the deployer ---------------------------------------------------------------------------------------------

    @Command(name = "signers", description = "Keys the deployer accepts signatures from.",
            subcommands = Signers.Add.class)
    static final class Signers {
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
                Bramble root = root(spec);
                JsonNode r = root.deployerApi().post("/v1/signers", Map.of("name", name, "publicKey",
                        Files.readString(key)));
                root.print(r, "signer " + name + ": key " + r.path("keyId").asText() + "\n");
                return 0;
            }
        }
    }

    @Command(name = "publish", description = {"Uploads a signed bundle (BUNDLE.sig beside it) as its function's next "
            + "version.", "With --url, devices fetch it from there (a CDN, a bucket) and check its digest and "
            + "signature; publishing the newest bundle again with --url sets its URL."})
    static final class Publish implements Callable<Integer> {
        @Parameters(paramLabel = "BUNDLE")
        Path bundle;
        @Option(names = "--signature", description = "the signature file (default BUNDLE.sig)")
        Path signature;
        @Option(names = "--url", description = "where devices download this bundle instead of the deployer: an "
                + "http(s) URL serving exactly these bytes")
        String url;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            Bramble root = root(spec);
            Path sig = signature != null ? signature : BundleCmd.signatureOf(bundle);
            if (!Files.exists(sig)) {
                throw new Api.Failure(EXIT_FAILED, "no signature " + sig + "; sign first: bramble bundle sign "
                        + bundle + " --key KEY");
            }
            JsonNode r = root.deployerApi().upload("/v1/functions", bundle, Files.readString(sig).trim(), url,
                    spec.commandLine().getErr());
            root.print(r, r.path("function").asText() + ":" + r.path("version").asText() + " "
                    + (r.path("created").asBoolean() ? "published" : "already published") + " (sha256 "
                    + r.path("sha256").asText() + ")\n");
            return 0;
        }
    }

    @Command(name = "functions", description = "Published functions.", subcommands = {Functions.ListCmd.class,
            Functions.Versions.class, Functions.Alias.class})
    static final class Functions {
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
                Bramble root = root(spec);
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
                Bramble root = root(spec);
                JsonNode r = root.deployerApi().get("/v1/functions");
                root.print(r, table(r.path("functions"), "name", "latest", "versions"));
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
                Bramble root = root(spec);
                JsonNode r = root.deployerApi().get("/v1/functions/" + function + "/versions");
                root.print(r, table(r.path("versions"), "version", "sha256", "keyId", "createdAt")
                        + (r.path("aliases").isEmpty() ? "" : "aliases:\n" + table(r.path("aliases"), "name",
                        "version")));
                return 0;
            }
        }
    }

    @Command(name = "enrolment-token", description = "Tokens devices enrol with.",
            subcommands = EnrolmentTokens.Create.class)
    static final class EnrolmentTokens {
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
                Bramble root = root(spec);
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

    // --- a device, directly ---------------------------------------------------------------------------------------

    @Command(name = "invoke", description = "Invokes a function on a device (its Lambda Invoke API).")
    static final class Invoke implements Callable<Integer> {
        @Parameters(paramLabel = "FUNCTION")
        String function;
        @Option(names = "--device", required = true, description = "the device's URL, e.g. http://pi.local:9000")
        String device;
        @Option(names = "--payload", defaultValue = "{}", description = "the event (JSON)")
        String payload;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            Bramble root = root(spec);
            JsonNode r = new Api(device, null).post("/2015-03-31/functions/" + function + "/invocations",
                    Api.JSON.readTree(payload));
            root.print(r, r + "\n");
            return r.has("errorType") ? EXIT_FAILED : 0;
        }
    }

    @Command(name = "logs", description = {"A function's log lines on a device, from the deployer (what the device "
            + "has uploaded), or straight from the device when --device is its URL (offline).",
            "Lines the device had to drop at its outbox's cap show as one line saying how many."})
    static final class Logs implements Callable<Integer> {
        @Parameters(paramLabel = "FUNCTION", arity = "0..1", description = "the function (or --function)")
        String positional;
        @Option(names = "--function", description = "the function")
        String function;
        @Option(names = "--device", required = true, description = "a device id (via the deployer), or a device's "
                + "URL http(s)://host:port (straight to it)")
        String device;
        @Option(names = "--since", defaultValue = "1h", description = "how far back: 30s, 10m, 2h, 7d, or an ISO "
                + "instant like 2026-11-22T08:00:00Z (default ${DEFAULT-VALUE})")
        String since;
        @Option(names = {"-f", "--follow"}, description = "keep printing new lines as they arrive (Ctrl-C to stop)")
        boolean follow;
        @Option(names = "--limit", defaultValue = "1000", description = "lines per request, 1..10000")
        int limit;
        @Option(names = "--poll-ms", defaultValue = "1000", hidden = true)
        long pollMs;
        @CommandLine.Mixin
        DeviceToken deviceToken;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws InterruptedException {
            Bramble root = root(spec);
            String fn = function != null ? function : positional;
            if (fn == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "name the function: --function NAME");
            }
            long sinceMs = sinceMillis(spec, since, System.currentTimeMillis());
            if (device.startsWith("http://") || device.startsWith("https://")) {
                return fromDevice(root, fn, sinceMs);
            }
            PrintWriter out = spec.commandLine().getOut();
            long after = 0;
            while (true) {
                JsonNode r = root.deployerApi().get("/v1/devices/" + device + "/logs?function=" + fn + "&since="
                        + sinceMs + "&after=" + after + "&limit=" + limit);
                for (JsonNode l : r.path("lines")) {
                    out.println(root.json ? l.toString() : line(l));
                }
                out.flush();
                after = r.path("next").asLong(after);
                if (r.path("lines").size() == limit) {
                    continue; // more right away
                }
                if (!follow) {
                    return 0;
                }
                Thread.sleep(pollMs);
            }
        }

        private static String line(JsonNode l) {
            String time = java.time.Instant.ofEpochMilli(l.path("timestamp").asLong()).toString();
            if ("gap".equals(l.path("kind").asText())) {
                return time + " -- " + l.path("dropped").asLong() + " entries dropped on the device (outbox full) --";
            }
            return time + " " + l.path("message").asText();
        }

        private int fromDevice(Bramble root, String fn, long sinceMs) {
            JsonNode r = new Api(device, deviceToken.token(spec)).get("/v1/functions/" + fn + "/logs?limit=" + limit
                    + "&since="
                    + sinceMs);
            StringBuilder sb = new StringBuilder();
            for (Iterator<JsonNode> it = r.path("events").elements(); it.hasNext(); ) {
                JsonNode e = it.next();
                sb.append(e.path("time").asText()).append(' ').append(e.path("message").asText()).append('\n');
            }
            root.print(r, sb.toString());
            return 0;
        }
    }

    /** {@code 30s}, {@code 10m}, {@code 2h}, {@code 7d}, or an ISO-8601 instant, as epoch milliseconds. */
    static long sinceMillis(CommandLine.Model.CommandSpec spec, String since, long now) {
        java.util.Optional<java.time.Duration> ago = Durations.of(since);
        if (ago.isPresent()) {
            return Math.max(0, now - ago.get().toMillis());
        }
        try {
            return java.time.Instant.parse(since).toEpochMilli();
        } catch (java.time.format.DateTimeParseException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--since '" + since + "' is not allowed; "
                    + "use 30s, 10m, 2h, 7d or an instant like 2026-11-22T08:00:00Z");
        }
    }

    @Command(name = "metrics", description = "The latest metrics a device has uploaded (counters since its daemon "
            + "started), for every function or one.")
    static final class MetricsCmd implements Callable<Integer> {
        @Option(names = "--device", required = true, description = "the device id")
        String device;
        @Option(names = "--function", description = "only this function")
        String function;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            Bramble root = root(spec);
            JsonNode r = root.deployerApi().get("/v1/devices/" + device + "/metrics"
                    + (function == null ? "" : "?function=" + function));
            StringBuilder sb = new StringBuilder();
            JsonNode snap = r.path("snapshot");
            if (snap.isMissingNode() || snap.isNull()) {
                sb.append("no metrics from ").append(device).append(" yet\n");
            } else {
                sb.append("device ").append(device).append(" at ").append(r.path("timestamp").asText()).append('\n');
                if (function == null) {
                    section(sb, "daemon", snap.path("daemon"));
                }
                snap.path("functions").properties().forEach(e -> section(sb, e.getKey(), e.getValue()));
            }
            root.print(r, sb.toString());
            return 0;
        }

        private static void section(StringBuilder sb, String name, JsonNode values) {
            sb.append(name).append('\n');
            if (values == null || values.isNull()) {
                sb.append("  (nothing recorded)\n");
                return;
            }
            values.properties().forEach(e -> {
                JsonNode v = e.getValue();
                String text = v.isObject() ? "count=" + v.path("count").asLong() + " sum=" + v.path("sum").asDouble()
                        : v.isNumber() && v.asDouble() == Math.rint(v.asDouble()) ? Long.toString(v.asLong())
                        : v.asText();
                sb.append(String.format("  %-36s %s%n", e.getKey(), text));
            });
        }
    }

    /**
     * The admin token of a device spoken to directly: {@code --device-token}, else the file the daemon generated
     * (readable by root only, so on the device this is {@code sudo bramble …}).
     */
    static final class DeviceToken {
        @Option(names = "--device-token", defaultValue = "${env:BRAMBLE_DEVICE_TOKEN:-}",
                description = "the device's admin token (env BRAMBLE_DEVICE_TOKEN); default: read from "
                        + "--device-token-file")
        String token;
        @Option(names = "--device-token-file", defaultValue = "${env:BRAMBLE_DEVICE_TOKEN_FILE:-"
                + "/var/lib/bramble/admin.token}", description = "where the device keeps its admin token "
                + "(default ${DEFAULT-VALUE}; root only)")
        Path file;

        String token(CommandLine.Model.CommandSpec spec) {
            if (token != null && !token.isBlank()) {
                return token.strip();
            }
            try {
                return Files.readString(file).strip();
            } catch (IOException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "the device's admin routes need its "
                        + "admin token: give --device-token (or BRAMBLE_DEVICE_TOKEN), or run as root on the "
                        + "device so " + file + " can be read (" + e.getClass().getSimpleName() + ": "
                        + e.getMessage() + ")");
            }
        }
    }

    @Command(name = "device", description = "A device directly, without the deployer.",
            subcommands = DeviceCmd.DeployDirect.class)
    static final class DeviceCmd {
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
                Bramble root = root(spec);
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

    static Bramble root(CommandLine.Model.CommandSpec spec) {
        CommandLine c = spec.commandLine();
        while (c.getParent() != null) {
            c = c.getParent();
        }
        return (Bramble) c.getCommand();
    }
}
