package dev.bramble.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * Writes that survive a kill or a power cut: a file is written beside its target, synced, renamed over it and its
 * directory synced, so a reader finds the old file or the whole new one, never a part.
 */
public final class Durable {
    private Durable() {
    }

    /** Copies {@code source} to {@code target} atomically and durably, replacing what was there. */
    public static void copy(Path source, Path target) throws IOException {
        try (InputStream in = Files.newInputStream(source)) {
            write(in, target);
        }
    }

    /** Writes {@code bytes} to {@code target} atomically and durably, replacing what was there. */
    public static void write(byte[] bytes, Path target) throws IOException {
        write(new java.io.ByteArrayInputStream(bytes), target);
    }

    private static void write(InputStream in, Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = dir.resolve("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            try (var out = Files.newOutputStream(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                in.transferTo(out);
            }
            sync(temp);
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            sync(dir);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Whether a name is one of this class's temporary files, left by a write that was killed. */
    public static boolean isLeftover(Path file) {
        String name = file.getFileName().toString();
        return name.startsWith(".") && name.endsWith(".tmp");
    }

    /** Flushes a file's, or a directory's entries', data to the disk. */
    public static void sync(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
