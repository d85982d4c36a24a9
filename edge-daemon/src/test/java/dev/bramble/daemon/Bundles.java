package dev.bramble.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/** The example bundles Maven built, and variants of them with another manifest or extra entries. */
final class Bundles {
    private Bundles() {
    }

    /** An example bundle: {@code hello}, {@code echo}, {@code misbehave} or {@code shapes}. */
    static Path example(String name) {
        String dir = System.getProperty("bramble.test.bundles");
        if (dir == null) {
            throw new IllegalStateException("bramble.test.bundles is not set; run the tests through Maven");
        }
        Path zip = Path.of(dir, "bramble-example-" + name + "-bundle.zip");
        if (!Files.isRegularFile(zip)) {
            throw new IllegalStateException("missing example bundle " + zip);
        }
        return zip;
    }

    /** A bundle of the given files (name to text), as an author zips a Python, Node.js or provided function. */
    static Path zip(Path dir, Map<String, String> files) {
        return zipBinary(dir, files);
    }

    /** Marks a value of {@link #zipBinary} as base64 bytes rather than text. */
    static final String BINARY_PREFIX = "base64:";

    /** As {@link #zip}, but a value that starts with {@link #BINARY_PREFIX} is base64 bytes (a native module). */
    static Path zipBinary(Path dir, Map<String, String> files) {
        try {
            Path out = Files.createTempFile(dir, "bundle-", ".zip");
            try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(out))) {
                for (Map.Entry<String, String> e : files.entrySet()) {
                    String v = e.getValue();
                    put(zip, e.getKey(), v.startsWith(BINARY_PREFIX)
                            ? java.util.Base64.getDecoder().decode(v.substring(BINARY_PREFIX.length()))
                            : v.getBytes(StandardCharsets.UTF_8));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A copy of {@code source} with its {@code function.json} replaced. */
    static Path withManifest(Path source, Path dir, String manifestJson) {
        return rewrite(source, dir, manifestJson, Map.of());
    }

    /** A copy of {@code source} with its manifest replaced (unless null) and extra raw entries added. */
    static Path rewrite(Path source, Path dir, String manifestJson, Map<String, byte[]> extra) {
        try {
            Path out = Files.createTempFile(dir, "bundle-", ".zip");
            try (ZipFile in = new ZipFile(source.toFile());
                 ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(out))) {
                Enumeration<? extends ZipEntry> entries = in.entries();
                while (entries.hasMoreElements()) {
                    ZipEntry e = entries.nextElement();
                    if (manifestJson != null && e.getName().equals("function.json")) {
                        continue;
                    }
                    zip.putNextEntry(new ZipEntry(e.getName()));
                    try (InputStream is = in.getInputStream(e)) {
                        is.transferTo(zip);
                    }
                    zip.closeEntry();
                }
                if (manifestJson != null) {
                    put(zip, "function.json", manifestJson.getBytes(StandardCharsets.UTF_8));
                }
                for (Map.Entry<String, byte[]> e : extra.entrySet()) {
                    put(zip, e.getKey(), e.getValue());
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A manifest for a handler in the shapes example. */
    static String shapes(String name, String handler) {
        return """
                {"name": "%s", "runtime": "java21", "handler": "dev.bramble.examples.shapes.%s",
                 "memoryMb": 96, "timeoutSeconds": 10}""".formatted(name, handler);
    }

    /** The misbehave example under another name, with extra manifest fields. */
    static String misbehave(String name, String extraFields) {
        // The extra fields replace the defaults: function.json refuses a key given twice.
        try {
            var manifest = (com.fasterxml.jackson.databind.node.ObjectNode) TestDaemon.JSON.readTree("""
                    {"name": "%s", "runtime": "java21", "handler": "dev.bramble.examples.misbehave.Misbehave",
                     "memoryMb": 128, "timeoutSeconds": 2}""".formatted(name));
            manifest.setAll((com.fasterxml.jackson.databind.node.ObjectNode) TestDaemon.JSON.readTree(
                    "{" + extraFields + "}"));
            return TestDaemon.JSON.writeValueAsString(manifest);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void put(ZipOutputStream zip, String name, byte[] data) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        OutputStream os = zip;
        os.write(data);
        zip.closeEntry();
    }
}
