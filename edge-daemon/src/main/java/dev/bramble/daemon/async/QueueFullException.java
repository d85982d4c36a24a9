package dev.bramble.daemon.async;

/** The asynchronous queue holds as many invocations as it is allowed; the caller should try again later. */
public final class QueueFullException extends RuntimeException {
    QueueFullException(String message) {
        super(message);
    }
}
