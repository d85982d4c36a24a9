package dev.bramble.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Zips a directory into a bundle. */
final class Zips {
    private Zips() {
    }

    static void zip(Path root, Path out) throws IOException {
        List<Path> files;
        try (Stream<Path> all = Files.walk(root)) {
            files = all.filter(Files::isRegularFile).sorted().toList();
        }
        try (OutputStream os = Files.newOutputStream(out); ZipOutputStream zip = new ZipOutputStream(os)) {
            for (Path f : files) {
                zip.putNextEntry(new ZipEntry(root.relativize(f).toString()));
                Files.copy(f, zip);
                zip.closeEntry();
            }
        }
    }
}
