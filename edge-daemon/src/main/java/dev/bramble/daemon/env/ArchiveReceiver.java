package dev.bramble.daemon.env;

import dev.bramble.runtime.Channel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * Stores the class-data archive a training run sends in parts: into a temporary file beside the target, synced,
 * then renamed over it, so a reader never maps half an archive. At most {@link Launcher#ARCHIVE_MAX_MB}; a run that
 * sends more gets nothing stored. Runs on the channel's reader thread (a platform thread).
 */
final class ArchiveReceiver {
    private static final System.Logger LOG = System.getLogger(ArchiveReceiver.class.getName());
    private static final long MAX_BYTES = (long) Launcher.ARCHIVE_MAX_MB << 20;
    private final Path target;
    private final Path part;
    private FileChannel file;
    private long size;
    private boolean refused;

    ArchiveReceiver(Path target, String stream) {
        this.target = target;
        this.part = target.resolveSibling(target.getFileName() + ".part-" + stream.replaceAll("[^A-Za-z0-9]", ""));
    }

    /** Takes one part; the archive's size once the last is stored. */
    Optional<Long> take(Channel.ArchivePart p) {
        if (refused) {
            return Optional.empty();
        }
        try {
            if (file == null) {
                file = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE);
            }
            size += p.data().length;
            if (size > MAX_BYTES) {
                throw new IOException("the archive passes " + Launcher.ARCHIVE_MAX_MB + " MB");
            }
            ByteBuffer b = ByteBuffer.wrap(p.data());
            while (b.hasRemaining()) {
                file.write(b);
            }
            if (!p.last()) {
                return Optional.empty();
            }
            file.force(true);
            file.close();
            file = null;
            Files.setPosixFilePermissions(part, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return Optional.of(size);
        } catch (IOException | RuntimeException e) {
            refused = true;
            LOG.log(System.Logger.Level.WARNING, "archive.refused file={0} error={1}", target, e.getMessage());
            try {
                if (file != null) {
                    file.close();
                }
                Files.deleteIfExists(part);
            } catch (IOException cleanup) {
                // a leftover part file is replaced by the next training run
            }
            return Optional.empty();
        }
    }
}
