package dev.bramble.protocol;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A function bundle: a zip holding {@code function.json} and the code. A {@code java21} bundle's code is in
 * {@code lib/*.jar}, classes at its top as Lambda's zip layout has them (and optionally {@code classes/}); a
 * {@code python3} or {@code nodejs} bundle has its modules at its top (vendored packages, {@code node_modules/}
 * beside them); a {@code provided} one has its executable {@code bootstrap} there. {@link #open} inspects it
 * completely before anything is trusted: every entry name must stay inside the bundle, the real (not declared)
 * unpacked sizes and compression ratios must stay within {@link Limits}, the manifest must be valid and what the
 * handler names must be present. All problems are reported together.
 */
public final class Bundle {
    public static final String MANIFEST = "function.json";

    private final Path zip;
    private final Manifest manifest;
    private final byte[] manifestJson;
    private final String sha256;
    private final long size;
    private final Limits limits;

    private Bundle(Path zip, Manifest manifest, byte[] manifestJson, String sha256, long size, Limits limits) {
        this.zip = zip;
        this.manifest = manifest;
        this.manifestJson = manifestJson;
        this.sha256 = sha256;
        this.size = size;
        this.limits = limits;
    }

    /**
     * Limits that keep a hostile bundle from filling the disk or memory.
     *
     * @param maxZipBytes         largest bundle file accepted
     * @param maxEntries          most entries in the bundle
     * @param maxUnpackedBytes    largest total of the entries' real unpacked sizes
     * @param maxCompressionRatio largest unpacked/packed ratio of an entry over 1 MB, and of the whole bundle
     */
    public record Limits(long maxZipBytes, int maxEntries, long maxUnpackedBytes, int maxCompressionRatio) {
        /** 64 MB zip, 10,000 entries, 256 MB unpacked, ratio 100. */
        public static final Limits DEFAULT = new Limits(64L << 20, 10_000, 256L << 20, 100);
    }

    /** The validated manifest. */
    public Manifest manifest() {
        return manifest;
    }

    /** {@code function.json} as it stands in the bundle. */
    public byte[] manifestJson() {
        return manifestJson.clone();
    }

    /** SHA-256 of the zip file, lower-case hex: the bundle's identity. */
    public String sha256() {
        return sha256;
    }

    /** Size of the zip file in bytes. */
    public long size() {
        return size;
    }

    /** The zip file. */
    public Path path() {
        return zip;
    }

    /**
     * Inspects a bundle.
     *
     * @throws BundleException listing every problem, when it cannot be accepted
     */
    public static Bundle open(Path zip, Limits limits) {
        List<String> problems = new ArrayList<>();
        long size;
        try {
            size = Files.size(zip);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read bundle " + zip, e);
        }
        if (size > limits.maxZipBytes()) {
            throw new BundleException(List.of("bundle is " + size + " bytes; at most " + limits.maxZipBytes()));
        }
        Manifest manifest = null;
        byte[] manifestJson = null;
        try (ZipFile file = new ZipFile(zip.toFile())) {
            Scan scan = scan(file, limits, problems);
            if (scan.manifest == null) {
                problems.add(MANIFEST + ": missing at the top of the bundle");
            } else {
                manifestJson = scan.manifest;
                try {
                    manifest = ManifestParser.parse(scan.manifest);
                } catch (InvalidManifestException e) {
                    e.problems().forEach(p -> problems.add(MANIFEST + ": " + p));
                }
            }
            if (manifest == null || manifest.runtimeKind() == Manifest.Runtime.JAVA21) {
                if (!scan.hasCode) {
                    problems.add("no code: the bundle needs lib/*.jar, classes/ or classes at the top (Lambda's zip "
                            + "layout)");
                }
                if (manifest != null && !scan.classes.contains(classFile(manifest.handlerClass()))) {
                    problems.add("handler class '" + manifest.handlerClass() + "' not found in lib/*.jar, classes/ or "
                            + "the top of the bundle");
                }
            } else {
                codeProblem(manifest, scan.files).ifPresent(problems::add);
            }
        } catch (ZipException e) {
            throw new BundleException(List.of("not a zip file: " + e.getMessage()));
        } catch (IOException e) {
            if (String.valueOf(e.getMessage()).contains("No space left on device")) {
                throw new UncheckedIOException("cannot check bundle " + zip, e); // the disk's fault, not the bundle's
            }
            throw new BundleException(List.of("bundle could not be read: " + e.getMessage()));
        }
        if (!problems.isEmpty()) {
            throw new BundleException(problems);
        }
        return new Bundle(zip, manifest, manifestJson, sha256(zip), size, limits);
    }

    /**
     * Unpacks into {@code target}, which must not exist yet. Files are made read-only. Limits are enforced
     * again on the bytes actually written.
     */
    public void unpackTo(Path target) throws IOException {
        Files.createDirectories(target.getParent());
        Files.createDirectory(target);
        long total = 0;
        try (ZipFile file = new ZipFile(zip.toFile())) {
            Enumeration<? extends ZipEntry> entries = file.entries();
            while (entries.hasMoreElements()) {
                ZipEntry entry = entries.nextElement();
                Path out = target.resolve(entry.getName()).normalize();
                if (!out.startsWith(target) || nameProblem(entry.getName()) != null) {
                    throw new IOException("entry escapes the bundle: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(out);
                    continue;
                }
                Files.createDirectories(out.getParent());
                try (InputStream in = new Bounded(file.getInputStream(entry), limits.maxUnpackedBytes() - total);
                     java.io.FileOutputStream os = new java.io.FileOutputStream(out.toFile())) {
                    total += in.transferTo(os);
                    os.getFD().sync(); // a code directory that exists after a power cut is whole
                }
                out.toFile().setReadOnly();
                if (entry.getName().equals(BOOTSTRAP) && manifest.runtimeKind() == Manifest.Runtime.PROVIDED) {
                    // what a provided runtime runs; zip entries carry no mode Java can read, so it is made so here
                    out.toFile().setExecutable(true, false);
                }
            }
        }
        try (var dirs = Files.walk(target)) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                Durable.sync(d);
            }
        }
    }

    private record Scan(byte[] manifest, boolean hasCode, Set<String> classes, Set<String> files) {
    }

    /** The executable a {@code provided} bundle carries at its top, as Lambda's custom runtimes do. */
    public static final String BOOTSTRAP = "bootstrap";

    /**
     * Whether a bundle of a Runtime API runtime carries what its handler names: a {@code provided} one its
     * {@code bootstrap}, a Python one the handler's module, a Node.js one the handler's file.
     */
    private static Optional<String> codeProblem(Manifest m, Set<String> files) {
        String handler = m.handler();
        String module = handler.substring(0, Math.max(0, handler.lastIndexOf('.')));
        return switch (m.runtimeKind()) {
            case JAVA21 -> Optional.empty();
            case PROVIDED -> files.contains(BOOTSTRAP) ? Optional.empty() : Optional.of("no bootstrap: a provided "
                    + "runtime's bundle needs an executable file named bootstrap at its top, as Lambda's do");
            case PYTHON3 -> {
                String path = module.replace('.', '/');
                yield files.contains(path + ".py") || files.contains(path + "/__init__.py") ? Optional.empty()
                        : Optional.of("handler '" + handler + "': module " + module + " not found; the bundle needs "
                        + path + ".py (or " + path + "/__init__.py) at its top, vendored packages beside it");
            }
            case NODEJS -> java.util.stream.Stream.of(".js", ".mjs", ".cjs").anyMatch(x -> files.contains(module + x))
                    ? Optional.empty() : Optional.of("handler '" + handler + "': no " + module + ".js, " + module
                    + ".mjs or " + module + ".cjs at the bundle's top (node_modules/ beside it)");
        };
    }

    private static Scan scan(ZipFile file, Limits limits, List<String> problems) throws IOException {
        byte[] manifest = null;
        boolean hasCode = false;
        Set<String> classes = new HashSet<>();
        Set<String> names = new HashSet<>();
        Set<String> files = new HashSet<>();
        Set<String> dirs = new HashSet<>();
        long total = 0;
        int count = 0;
        Enumeration<? extends ZipEntry> entries = file.entries();
        while (entries.hasMoreElements()) {
            ZipEntry entry = entries.nextElement();
            String name = entry.getName();
            if (++count > limits.maxEntries()) {
                problems.add("more than " + limits.maxEntries() + " entries");
                break;
            }
            String nameProblem = nameProblem(name);
            if (nameProblem != null) {
                problems.add("entry '" + name + "': " + nameProblem);
                continue;
            }
            if (!names.add(name)) {
                problems.add("entry '" + name + "': appears twice");
                continue;
            }
            // Unpacking makes every parent a directory: a file of the same name as one cannot be unpacked.
            String path = entry.isDirectory() ? name.substring(0, name.length() - 1) : name;
            for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
                dirs.add(path.substring(0, slash));
            }
            if (entry.isDirectory()) {
                dirs.add(path);
            } else {
                files.add(path);
            }
            if (entry.isDirectory()) {
                continue;
            }
            Bounded in = new Bounded(file.getInputStream(entry), limits.maxUnpackedBytes() - total);
            try (in) {
                if (name.equals(MANIFEST)) {
                    manifest = in.readNBytes(1 << 20);
                } else if (name.startsWith("lib/") && name.endsWith(".jar") && name.indexOf('/', 4) < 0) {
                    hasCode = true;
                    classesOfJar(in, Path.of(file.getName()), classes);
                } else if (name.startsWith("classes/") && name.endsWith(".class")) {
                    hasCode = true;
                    classes.add(name.substring("classes/".length()));
                } else if (name.endsWith(".class") && !name.startsWith("lib/") && !name.startsWith("META-INF/")) {
                    // Lambda's own zip layout: classes at the top beside lib/ (its task root is on the classpath)
                    hasCode = true;
                    classes.add(name);
                }
                in.transferTo(OutputStream.nullOutputStream());
            } catch (Bounded.LimitReached e) {
                problems.add("unpacked size exceeds " + limits.maxUnpackedBytes() + " bytes (at entry '" + name
                        + "')");
                break;
            }
            total += in.count;
            long packed = Math.max(1, entry.getCompressedSize());
            if (in.count > (1 << 20) && in.count / packed > limits.maxCompressionRatio()) {
                problems.add("entry '" + name + "': compression ratio " + in.count / packed + " exceeds "
                        + limits.maxCompressionRatio());
            }
        }
        for (String both : files) {
            if (dirs.contains(both)) {
                problems.add("entry '" + both + "': is a file and also a directory (other entries are under it)");
            }
        }
        long zipSize = Math.max(1, Files.size(Path.of(file.getName())));
        if (total > (1 << 20) && total / zipSize > limits.maxCompressionRatio()) {
            problems.add("bundle compression ratio " + total / zipSize + " exceeds " + limits.maxCompressionRatio());
        }
        return new Scan(manifest, hasCode, classes, files);
    }

    /**
     * The class names in a jar of the bundle, from its central directory: the jar is copied beside the bundle and
     * listed, never inflated entry by entry (a small, highly compressed jar would otherwise cost seconds of CPU).
     */
    private static void classesOfJar(InputStream jar, Path bundle, Set<String> classes) throws IOException {
        // Beside the bundle (the daemon's data disk), or in the temporary directory when that is not writable (a
        // bundle an author checks in a read-only directory).
        Path dir = bundle.toAbsolutePath().getParent();
        Path copy = Files.createTempFile(Files.isWritable(dir) ? dir : Path.of(System.getProperty("java.io.tmpdir")),
                ".jar-", ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(copy)) {
                jar.transferTo(out);
            }
            try (ZipFile inner = new ZipFile(copy.toFile())) {
                Enumeration<? extends ZipEntry> entries = inner.entries();
                while (entries.hasMoreElements()) {
                    String n = entries.nextElement().getName();
                    if (n.endsWith(".class")) {
                        classes.add(n);
                    }
                }
            } catch (ZipException e) {
                // Not a readable jar: the handler will not be found in it, which is reported.
            }
        } finally {
            Files.deleteIfExists(copy);
        }
    }

    /** Why an entry name is unsafe, or null when it is fine. */
    static String nameProblem(String name) {
        if (name.isEmpty() || name.indexOf('\0') >= 0) {
            return "empty or NUL in the name";
        }
        if (name.indexOf('\\') >= 0) {
            return "backslash in the name; use '/'";
        }
        if (name.startsWith("/") || name.matches("^[A-Za-z]:.*")) {
            return "absolute path; entries must be relative to the bundle";
        }
        if (name.length() > MAX_NAME_BYTES || name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                > MAX_NAME_BYTES) {
            return "name longer than " + MAX_NAME_BYTES + " bytes";
        }
        String path = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
        String[] parts = path.split("/", -1);
        if (parts.length > MAX_DEPTH) {
            return "nested " + parts.length + " deep; at most " + MAX_DEPTH + " levels";
        }
        for (String part : parts) {
            if (part.equals("..")) {
                return "path escapes the bundle ('..')";
            }
            if (part.equals(".") || part.isEmpty()) {
                // lib/./x.jar would be unpacked as lib/x.jar but not be code to the check above: one spelling only
                return "'.' or empty segment in the path; write it plainly (lib/x.jar)";
            }
            if (part.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_SEGMENT_BYTES) {
                return "a segment longer than " + MAX_SEGMENT_BYTES + " bytes (the file system's limit)";
            }
        }
        return null;
    }

    /** Longest entry name: the code directory's own path must still fit in the file system's 4096. */
    static final int MAX_NAME_BYTES = 1024;
    /** Longest single file or directory name: what ext4 and most file systems allow. */
    static final int MAX_SEGMENT_BYTES = 255;
    /** Deepest entry. */
    static final int MAX_DEPTH = 32;

    private static String classFile(String className) {
        return className.replace('.', '/') + ".class";
    }

    /** The SHA-256 of a file, in lower-case hex: a bundle's identity, and what its signature covers. */
    public static String sha256(Path zip) {
        try (InputStream in = Files.newInputStream(zip)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                digest.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** Counts bytes read and fails past a budget, whatever the entry declared. */
    private static final class Bounded extends FilterInputStream {
        private final long budget;
        private long count;

        Bounded(InputStream in, long budget) {
            super(in);
            this.budget = budget;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                add(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                add(n);
            }
            return n;
        }

        private void add(long n) throws LimitReached {
            count += n;
            if (count > budget) {
                throw new LimitReached();
            }
        }

        static final class LimitReached extends IOException {
            LimitReached() {
                super("unpacked size limit reached");
            }
        }
    }
}
