package dev.bramble.daemon.env;

import dev.bramble.daemon.store.Trees;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The child JVM's classpath, either used where it is or copied into a directory every function uid can read.
 *
 * @param classpath   the {@code -cp} value for children
 * @param directories the directories a sandbox must show the child, read-only
 */
record RuntimeStage(String classpath, List<Path> directories) {

    static RuntimeStage inPlace(String classpath) {
        return new RuntimeStage(classpath, List.of());
    }

    /**
     * Copies every classpath entry ({@code dir/*}, a jar, or a class directory) into {@code target}, world-readable,
     * replacing what a previous run staged.
     */
    static RuntimeStage stage(String classpath, Path target) throws IOException {
        // Copies keep their sizes and modification times, so the same installation stages the same files and the
        // class-data archives made against them stay valid across restarts.
        Trees.delete(target);
        Files.createDirectories(target);
        List<String> entries = new ArrayList<>();
        int n = 0;
        for (String entry : classpath.split(":")) {
            if (entry.isBlank()) {
                continue;
            }
            if (entry.endsWith("/*")) {
                try (Stream<Path> jars = Files.list(Path.of(entry.substring(0, entry.length() - 2)))) {
                    for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                        Path copy = target.resolve(jar.getFileName());
                        Files.copy(jar, copy, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
                        entries.add(copy.toString());
                    }
                }
            } else if (Files.isDirectory(Path.of(entry))) {
                Path copy = target.resolve("classes-" + n++);
                copyTree(Path.of(entry), copy);
                entries.add(copy.toString());
            } else {
                Path copy = target.resolve(Path.of(entry).getFileName());
                Files.copy(Path.of(entry), copy, StandardCopyOption.REPLACE_EXISTING,
                        StandardCopyOption.COPY_ATTRIBUTES);
                entries.add(copy.toString());
            }
        }
        Trees.makeWorldReadable(target);
        return new RuntimeStage(String.join(":", entries), List.of(target));
    }

    /** Bramble's bootstrap of the managed python3 runtime, under {@link #bootstraps}'s directory. */
    static final String PYTHON_BOOTSTRAP = "python/bootstrap.py";
    /** Bramble's bootstrap of the managed nodejs runtime. */
    static final String NODE_BOOTSTRAP = "nodejs/bootstrap.mjs";

    /**
     * Writes Bramble's bootstraps of the managed runtimes (standard library only: they speak the Runtime API and load
     * the handler) from the daemon's jar into {@code target}, world-readable, replacing what a previous run wrote.
     * Returns {@code target}: the {@code LAMBDA_RUNTIME_DIR} of those environments.
     */
    static Path bootstraps(Path target) throws IOException {
        Trees.delete(target);
        for (String file : List.of(PYTHON_BOOTSTRAP, NODE_BOOTSTRAP)) {
            Path out = target.resolve(file);
            Files.createDirectories(out.getParent());
            try (var in = RuntimeStage.class.getResourceAsStream("/dev/bramble/daemon/runtimes/" + file)) {
                if (in == null) {
                    throw new IOException("the daemon's jar lacks its bootstrap " + file);
                }
                Files.copy(in, out);
            }
        }
        Trees.makeWorldReadable(target);
        return target;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }
}
