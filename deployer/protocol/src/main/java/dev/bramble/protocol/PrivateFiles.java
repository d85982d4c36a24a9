package dev.bramble.protocol;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * Files only their owner may read: databases, keys and the admin tokens of the device and the deployer. Each is
 * created {@code 0600} before anything is written to it, so no other user of the machine ever sees it readable,
 * even for an instant.
 */
public final class PrivateFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private PrivateFiles() {
    }

    /** Creates {@code file} empty with mode 0600, unless it exists. */
    public static void create(Path file) {
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            // kept as it is
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + file, e);
        }
    }

    /**
     * The token kept in {@code file}, generated on first use: 32 random bytes, URL-safe base64, after a prefix
     * that says what it is for ({@code admin_…}).
     *
     * @throws IllegalStateException when the file exists but holds no token
     */
    public static String token(Path file, String prefix) {
        try {
            if (!Files.exists(file)) {
                create(file);
                Files.writeString(file, newToken(prefix) + "\n");
            }
            String token = Files.readString(file).strip();
            if (token.isEmpty()) {
                throw new IllegalStateException(file + " is empty; delete it to have a new token generated");
            }
            return token;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or write " + file, e);
        }
    }

    /** A new random token with a prefix. */
    public static String newToken(String prefix) {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return prefix + "_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
