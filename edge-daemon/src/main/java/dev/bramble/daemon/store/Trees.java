package dev.bramble.daemon.store;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/** Directory trees under the data directory: unpacked code (read-only), staged runtimes, scratch directories. */
public final class Trees {
    private Trees() {
    }

    /** Makes every directory in the tree read-only ({@code r-xr-xr-x}); the files already are. */
    public static void makeReadOnly(Path root) throws IOException {
        setModes(root, "r-xr-xr-x", null);
    }

    /** Makes the tree readable by every user: directories {@code rwxr-xr-x}, files {@code rw-r--r--}. */
    public static void makeWorldReadable(Path root) throws IOException {
        setModes(root, "rwxr-xr-x", "rw-r--r--");
    }

    /** Deletes a tree, read-only parts included. Missing is fine. */
    public static void delete(Path root) throws IOException {
        if (Files.exists(root)) {
            deleteBelow(root, true);
        }
    }

    /** Deletes what a directory holds, keeping the directory; creates it when missing. */
    public static void empty(Path dir) throws IOException {
        Files.createDirectories(dir);
        deleteBelow(dir, false);
    }

    /** {@link #delete}, for clean-up paths where a failure changes nothing: the next start empties it anyway. */
    public static void deleteQuietly(Path root) {
        try {
            delete(root);
        } catch (IOException e) {
            // left for the next start's clean-up
        }
    }

    private static void deleteBelow(Path root, boolean andRoot) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                if (andRoot || !dir.equals(root)) {
                    Files.delete(dir);
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static void setModes(Path root, String dirMode, String fileMode) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (fileMode != null) {
                    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(fileMode));
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(dirMode));
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
