package dev.bramble.daemon;

import java.util.logging.LogManager;

/**
 * java.util.logging's manager, except that the JDK's own shutdown hook does not close the handlers: it runs
 * beside the daemon's, and would silence the daemon's stop, whose lines (which part stopped, which did not finish
 * in time) matter most. The handlers are closed once the daemon has stopped ({@link #resetAfterStop()}).
 * {@link Main} installs it before anything logs.
 */
public final class StopLogManager extends LogManager {
    private volatile boolean stopped;

    /** Closes the handlers: the daemon has stopped. */
    static void resetAfterStop() {
        if (LogManager.getLogManager() instanceof StopLogManager m) {
            m.stopped = true;
            m.reset();
        }
    }

    @Override
    public void reset() {
        if (stopped || !shuttingDown()) {
            super.reset();
        }
    }

    /** True once the JVM runs its shutdown hooks: registering one then fails. */
    private static boolean shuttingDown() {
        try {
            Thread probe = new Thread(() -> { });
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }
}
