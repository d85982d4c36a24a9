package dev.bramble.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * A training run for a function version's class-data archive: its classes are loaded and linked, never
 * initialised, so not one line of the function's own code runs. The daemon can then let this JVM, and only this
 * one, write the archive as it exits; every JVM that runs the function maps the archive read-only.
 */
final class Training {
    /** Enough for a function with its libraries; a bundle of more classes gets an archive of these. */
    static final int MAX_CLASSES = 5_000;

    private Training() {
    }

    /** Loads the handler's class first, then every class of the bundle, up to {@link #MAX_CLASSES}; returns how many. */
    static int load(ClassLoader loader, Path taskRoot, String handlerClass) throws IOException {
        int loaded = 0;
        List<String> names = new ArrayList<>();
        names.add(handlerClass);
        names.addAll(classNames(taskRoot));
        for (String name : names) {
            if (loaded >= MAX_CLASSES) {
                break;
            }
            try {
                Class.forName(name, false, loader);
                loaded++;
            } catch (ClassNotFoundException | LinkageError e) {
                // A class the bundle carries but cannot link (an optional dependency missing): not archived.
            }
        }
        return loaded;
    }

    private static List<String> classNames(Path taskRoot) throws IOException {
        List<String> names = new ArrayList<>();
        Path lib = taskRoot.resolve("lib");
        if (!Files.isDirectory(lib)) {
            return names;
        }
        List<Path> jars;
        try (Stream<Path> files = Files.list(lib)) {
            jars = files.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        }
        for (Path jar : jars) {
            try (JarFile j = new JarFile(jar.toFile())) {
                for (JarEntry e : java.util.Collections.list(j.entries())) {
                    String n = e.getName();
                    if (n.endsWith(".class") && !n.startsWith("META-INF/") && !n.endsWith("module-info.class")
                            && !n.endsWith("package-info.class")) {
                        names.add(n.substring(0, n.length() - ".class".length()).replace('/', '.'));
                        if (names.size() > MAX_CLASSES) {
                            return names;
                        }
                    }
                }
            }
        }
        return names;
    }
}
