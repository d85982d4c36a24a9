package dev.bramble.daemon.env;

/** No environment became free within the queue timeout, and the function is at its cap. */
public final class ThrottledException extends RuntimeException {
    private final int cap;

    ThrottledException(String function, int cap, long waitedMs) {
        super("Rate Exceeded: " + function + " is at its concurrency limit of " + cap
                + " environments; waited " + waitedMs + " ms for one to free up");
        this.cap = cap;
    }

    public int cap() {
        return cap;
    }
}
