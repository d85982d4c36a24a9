package dev.bramble.cli;

import dev.bramble.protocol.Bundle;
import dev.bramble.protocol.ManifestParser;
import dev.bramble.protocol.Signing;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** {@code bramble bundle …}: building, signing and inspecting function bundles. */
@Command(name = "bundle", description = "Function bundles.", subcommands = {BundleCmd.Build.class,
        BundleCmd.Sign.class, BundleCmd.Inspect.class})
final class BundleCmd {
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
            Bramble root = Bramble.root(spec);
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
