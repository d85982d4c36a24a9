package dev.bramble.daemon.env;

/**
 * A child JVM could not load the handler (class missing, constructor threw, JVM failed to start). Carries the
 * runtime's own error object when it sent one, else the error type and message of what the daemon saw; Lambda's
 * error object is made from them in one place ({@code invoke.LambdaErrors}).
 */
public final class InitFailedException extends Exception {
    private final transient byte[] runtimeError;
    private final String errorType;
    private final String errorMessage;
    private final long initNanos;
    private final String stream;
    private final boolean exited;

    /** The runtime said why: its error object, JSON. */
    InitFailedException(String message, byte[] runtimeError, long initNanos, String stream) {
        this(message, runtimeError, null, null, initNanos, stream, false);
    }

    /** The daemon saw it fail: Lambda's error type and message for it. */
    InitFailedException(String message, String errorType, String errorMessage, long initNanos, String stream,
                        boolean exited) {
        this(message, null, errorType, errorMessage, initNanos, stream, exited);
    }

    private InitFailedException(String message, byte[] runtimeError, String errorType, String errorMessage,
                                long initNanos, String stream, boolean exited) {
        super(message);
        this.runtimeError = runtimeError;
        this.errorType = errorType;
        this.errorMessage = errorMessage;
        this.initNanos = initNanos;
        this.stream = stream;
        this.exited = exited;
    }

    /** The JVM exited before the runtime could say why (as opposed to the handler failing to load). */
    public boolean exited() {
        return exited;
    }

    /** The runtime's own error object, JSON, when it sent one. */
    public java.util.Optional<byte[]> runtimeError() {
        return java.util.Optional.ofNullable(runtimeError).map(byte[]::clone);
    }

    /** Lambda's error type for what the daemon saw; null when the runtime sent its own error. */
    public String errorType() {
        return errorType;
    }

    /** Lambda's error message for what the daemon saw; null when the runtime sent its own error. */
    public String errorMessage() {
        return errorMessage;
    }

    public long initNanos() {
        return initNanos;
    }

    /** The log stream of the environment that failed. */
    public String stream() {
        return stream;
    }
}
