package dev.bramble.daemon.function;

/**
 * Storing a deployment failed on the disk (full, read-only, failing): its message names the file and the cause,
 * and the API answers with it rather than with an anonymous internal error.
 */
public final class StorageException extends RuntimeException {
    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
