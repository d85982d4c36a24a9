package dev.bramble.protocol;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BundleTest {
    private static final String MANIFEST = "{\"name\":\"t\",\"runtime\":\"java21\",\"handler\":\"com.example.H\"}";
    @TempDir
    Path dir;

    private Path zip(Map<String, byte[]> entries) throws IOException {
        Path zip = Files.createTempFile(dir, "b", ".zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                out.putNextEntry(new ZipEntry(e.getKey()));
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        return zip;
    }

    private static byte[] jar(String... classes) throws IOException {
        var bytes = new java.io.ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(bytes)) {
            for (String c : classes) {
                out.putNextEntry(new ZipEntry(c));
                out.write(new byte[]{(byte) 0xca, (byte) 0xfe});
                out.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    private Map<String, byte[]> good() throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("function.json", MANIFEST.getBytes(StandardCharsets.UTF_8));
        m.put("lib/code.jar", jar("com/example/H.class"));
        return m;
    }

    @Test
    void goodBundleOpensWithItsDigestAndUnpacksReadOnly() throws Exception {
        Path zip = zip(good());
        Bundle b = Bundle.open(zip, Bundle.Limits.DEFAULT);
        assertThat(b.manifest().name()).isEqualTo("t");
        assertThat(b.sha256()).isEqualTo(HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(zip))));
        Path target = dir.resolve("out");
        b.unpackTo(target);
        assertThat(target.resolve("lib/code.jar")).exists();
        assertThat(Files.getPosixFilePermissions(target.resolve("function.json")).toString()).doesNotContain("WRITE");
    }

    @Test
    void pathEscapesAreAllReported() throws IOException {
        Map<String, byte[]> m = good();
        m.put("../evil", new byte[1]);
        m.put("/etc/passwd", new byte[1]);
        m.put("lib\\win.jar", new byte[1]);
        assertThatThrownBy(() -> Bundle.open(zip(m), Bundle.Limits.DEFAULT))
                .isInstanceOfSatisfying(BundleException.class, e -> assertThat(e.problems()).containsExactly(
                        "entry '../evil': path escapes the bundle ('..')",
                        "entry '/etc/passwd': absolute path; entries must be relative to the bundle",
                        "entry 'lib\\win.jar': backslash in the name; use '/'"));
    }

    @Test
    void missingManifestAndCodeAndHandlerAreReported() throws IOException {
        assertThatThrownBy(() -> Bundle.open(zip(Map.of("README", new byte[1])), Bundle.Limits.DEFAULT))
                .isInstanceOfSatisfying(BundleException.class, e -> assertThat(e.problems()).containsExactly(
                        "function.json: missing at the top of the bundle",
                        "no code: the bundle needs lib/*.jar, classes/ or classes at the top (Lambda's zip layout)"));
        Map<String, byte[]> m = good();
        m.put("lib/code.jar", jar("com/example/Other.class"));
        assertThatThrownBy(() -> Bundle.open(zip(m), Bundle.Limits.DEFAULT))
                .hasMessageContaining("handler class 'com.example.H' not found in lib/*.jar, classes/ or the top");
    }

    private static Map<String, byte[]> runtimeApiBundle(String runtime, String handler, String... files) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("function.json", ("{\"name\":\"f\",\"runtime\":\"" + runtime + "\",\"handler\":\"" + handler + "\"}")
                .getBytes(StandardCharsets.UTF_8));
        for (String f : files) {
            m.put(f, "x".getBytes(StandardCharsets.UTF_8));
        }
        return m;
    }

    @Test
    void aRuntimeApiBundleMustCarryWhatItsHandlerNames() throws Exception {
        assertThat(Bundle.open(zip(runtimeApiBundle("python3", "app.handle", "app.py")), Bundle.Limits.DEFAULT)
                .manifest().handler()).isEqualTo("app.handle");
        assertThat(Bundle.open(zip(runtimeApiBundle("python3", "pkg.app.handle", "pkg/app/__init__.py",
                "vendored/x.py")), Bundle.Limits.DEFAULT).manifest().name()).isEqualTo("f");
        assertThat(Bundle.open(zip(runtimeApiBundle("nodejs", "src/app.handler", "src/app.mjs",
                "node_modules/dep/index.js")), Bundle.Limits.DEFAULT).manifest().name()).isEqualTo("f");
        assertThatThrownBy(() -> Bundle.open(zip(runtimeApiBundle("python3", "app.handle", "other.py")),
                Bundle.Limits.DEFAULT)).isInstanceOfSatisfying(BundleException.class, e -> assertThat(e.problems())
                .containsExactly("handler 'app.handle': module app not found; the bundle needs app.py (or "
                        + "app/__init__.py) at its top, vendored packages beside it"));
        assertThatThrownBy(() -> Bundle.open(zip(runtimeApiBundle("nodejs", "index.handler", "index.ts")),
                Bundle.Limits.DEFAULT)).hasMessageContaining("handler 'index.handler': no index.js, index.mjs or "
                + "index.cjs at the bundle's top");
        assertThatThrownBy(() -> Bundle.open(zip(runtimeApiBundle("provided", "x", "bin/bootstrap")),
                Bundle.Limits.DEFAULT)).hasMessageContaining("no bootstrap: a provided runtime's bundle needs an "
                + "executable file named bootstrap at its top");
    }

    @Test
    void aProvidedBundlesBootstrapIsUnpackedExecutableAndReadOnlyAndNothingElseIsExecutable() throws Exception {
        Bundle b = Bundle.open(zip(runtimeApiBundle("provided", "h", "bootstrap", "lib/helper.sh")),
                Bundle.Limits.DEFAULT);
        Path target = dir.resolve("provided");
        b.unpackTo(target);
        assertThat(Files.getPosixFilePermissions(target.resolve("bootstrap"))).containsExactlyInAnyOrder(
                java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                java.nio.file.attribute.PosixFilePermission.GROUP_READ,
                java.nio.file.attribute.PosixFilePermission.OTHERS_READ,
                java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE,
                java.nio.file.attribute.PosixFilePermission.GROUP_EXECUTE,
                java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE);
        assertThat(Files.isExecutable(target.resolve("lib/helper.sh"))).isFalse();
        // a python bundle's file called bootstrap is just a file
        Bundle py = Bundle.open(zip(runtimeApiBundle("python3", "app.h", "app.py", "bootstrap")),
                Bundle.Limits.DEFAULT);
        py.unpackTo(dir.resolve("py"));
        assertThat(Files.isExecutable(dir.resolve("py/bootstrap"))).isFalse();
    }

    @Test
    void lambdasZipLayoutWithClassesAtTheTopIsABundle() throws IOException {
        Map<String, byte[]> m = new java.util.LinkedHashMap<>();
        m.put("function.json", "{\"name\":\"f\",\"runtime\":\"java21\",\"handler\":\"com.example.H\"}"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        m.put("com/example/H.class", new byte[]{(byte) 0xca, (byte) 0xfe});
        m.put("lib/dep.jar", jar("org/dep/D.class"));
        assertThat(Bundle.open(zip(m), Bundle.Limits.DEFAULT).manifest().handler()).isEqualTo("com.example.H");
        // a class under META-INF (a multi-release or module descriptor copy) is not where a handler is looked for
        Map<String, byte[]> meta = new java.util.LinkedHashMap<>(m);
        meta.remove("com/example/H.class");
        meta.put("META-INF/versions/21/com/example/H.class", new byte[]{1});
        assertThatThrownBy(() -> Bundle.open(zip(meta), Bundle.Limits.DEFAULT))
                .hasMessageContaining("handler class 'com.example.H' not found");
    }

    @Test
    void limitsOnEntriesSizeAndRatioHoldWhateverTheHeadersSay() throws IOException {
        Map<String, byte[]> many = good();
        for (int i = 0; i < 20; i++) {
            many.put("data/" + i, new byte[1]);
        }
        assertThatThrownBy(() -> Bundle.open(zip(many), new Bundle.Limits(1 << 20, 10, 1 << 20, 100)))
                .hasMessageContaining("more than 10 entries");

        Map<String, byte[]> bomb = good();
        bomb.put("data/zeros", new byte[8 << 20]);
        Path bombZip = zip(bomb);
        assertThatThrownBy(() -> Bundle.open(bombZip, new Bundle.Limits(1 << 20, 100, 4 << 20, 1000)))
                .hasMessageContaining("unpacked size exceeds 4194304 bytes (at entry 'data/zeros')");
        assertThatThrownBy(() -> Bundle.open(bombZip, new Bundle.Limits(1 << 20, 100, 64 << 20, 100)))
                .hasMessageContaining("entry 'data/zeros': compression ratio")
                .hasMessageContaining("exceeds 100");
        assertThatThrownBy(() -> Bundle.open(bombZip, new Bundle.Limits(100, 100, 64 << 20, 100)))
                .hasMessageContaining("bytes; at most 100");
    }

    @Test
    void namesUnpackingCouldNotHonourAreRefusedBeforeAnythingIsUnpacked() throws IOException {
        Map<String, byte[]> m = good();
        m.put("lib/./dup.jar", jar("com/example/H.class"));
        m.put("conf", new byte[1]);
        m.put("conf/app.properties", new byte[1]);
        m.put("data//x", new byte[1]);
        m.put("d/" + "x".repeat(256), new byte[1]);
        m.put("deep/" + "a/".repeat(40) + "f", new byte[1]);
        m.put("long/" + "abcdefgh/".repeat(120) + "f", new byte[1]);
        assertThatThrownBy(() -> Bundle.open(zip(m), Bundle.Limits.DEFAULT))
                .isInstanceOfSatisfying(BundleException.class, e -> assertThat(e.problems()).containsExactlyInAnyOrder(
                        "entry 'lib/./dup.jar': '.' or empty segment in the path; write it plainly (lib/x.jar)",
                        "entry 'data//x': '.' or empty segment in the path; write it plainly (lib/x.jar)",
                        "entry 'd/" + "x".repeat(256) + "': a segment longer than 255 bytes (the file system's limit)",
                        "entry 'deep/" + "a/".repeat(40) + "f': nested 42 deep; at most 32 levels",
                        "entry 'long/" + "abcdefgh/".repeat(120) + "f': name longer than 1024 bytes",
                        "entry 'conf': is a file and also a directory (other entries are under it)"));
    }

    @Test
    void aJarIsListedFromItsCentralDirectoryNotInflatedEntryByEntry() throws IOException {
        // A jar whose first entry's data is not valid deflate: reading the jar as a stream (inflating every
        // entry to reach the next) stops there, before the handler; its central directory lists both.
        var bytes = new java.io.ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(bytes)) {
            out.putNextEntry(new ZipEntry("big.bin"));
            out.write(new byte[1 << 20]);
            out.closeEntry();
            out.putNextEntry(new ZipEntry("com/example/H.class"));
            out.write(new byte[]{(byte) 0xca, (byte) 0xfe});
            out.closeEntry();
        }
        byte[] jar = bytes.toByteArray();
        java.nio.ByteBuffer header = java.nio.ByteBuffer.wrap(jar).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int data = 30 + header.getShort(26) + header.getShort(28);
        jar[data] = (byte) 0xff; // BFINAL=1, BTYPE=11: a reserved block type
        try (var stream = new java.util.zip.ZipInputStream(new java.io.ByteArrayInputStream(jar))) {
            stream.getNextEntry();
            assertThatThrownBy(stream::getNextEntry).isInstanceOf(java.util.zip.ZipException.class);
        }
        Map<String, byte[]> m = good();
        m.put("lib/code.jar", jar);
        Path zip = zip(m);
        assertThat(Bundle.open(zip, Bundle.Limits.DEFAULT).manifest().handlerClass()).isEqualTo("com.example.H");
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).as("the jar's copy is deleted")
                    .noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    @Test
    void notAZip() throws IOException {
        Path junk = dir.resolve("junk.zip");
        try (OutputStream out = Files.newOutputStream(junk)) {
            out.write("hello".getBytes(StandardCharsets.UTF_8));
        }
        assertThatThrownBy(() -> Bundle.open(junk, Bundle.Limits.DEFAULT)).hasMessageContaining("not a zip file");
    }
}
