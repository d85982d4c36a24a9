package dev.bramble.daemon.env;

/** No environment became available within the queue timeout, or the queue was full. */
public final class ThrottledException extends RuntimeException {
    /** Why the request could not run. */
    public enum Reason {
        /** The function is at its concurrency cap. */
        CONCURRENCY,
        /** The device's memory budget is spent and nothing could be evicted. */
        MEMORY,
        /** The device runs as many environments as its profile allows and nothing could be evicted. */
        DEVICE_LIMIT,
        /** Too many requests are already waiting. */
        QUEUE_FULL
    }

    private final Reason reason;

    ThrottledException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
