package dev.bramble.daemon.env;

/**
 * A child JVM could not load the handler (class missing, constructor threw, JVM failed to start). Carries
 * Lambda's error object, which goes to the invocation that asked for the cold start.
 */
public final class InitFailedException extends Exception {
    private final transient byte[] error;
    private final long initNanos;
    private final String stream;

    InitFailedException(String message, byte[] error, long initNanos, String stream) {
        super(message);
        this.error = error;
        this.initNanos = initNanos;
        this.stream = stream;
    }

    /** Lambda's error object, JSON. */
    public byte[] error() {
        return error.clone();
    }

    public long initNanos() {
        return initNanos;
    }

    /** The log stream of the environment that failed. */
    public String stream() {
        return stream;
    }
}
