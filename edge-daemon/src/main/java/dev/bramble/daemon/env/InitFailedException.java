package dev.bramble.daemon.env;

/**
 * A child JVM could not load the handler (class missing, constructor threw, JVM failed to start). Carries
 * Lambda's error object, which goes to the invocation that asked for the cold start.
 */
public final class InitFailedException extends Exception {
    private final transient byte[] error;
    private final long initNanos;
    private final String stream;
    private final boolean exited;

    InitFailedException(String message, byte[] error, long initNanos, String stream, boolean exited) {
        super(message);
        this.error = error;
        this.initNanos = initNanos;
        this.stream = stream;
        this.exited = exited;
    }

    /** The JVM exited before the runtime could say why (as opposed to the handler failing to load). */
    public boolean exited() {
        return exited;
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
