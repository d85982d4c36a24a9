package dev.bramble.daemon.env;

import dev.bramble.sandbox.Exit;

/** How one invocation in an environment ended. */
public sealed interface Outcome {

    /** Time spent, nanoseconds. */
    long durationNanos();

    /** Whether the environment may take another invocation. */
    boolean reusable();

    /**
     * The handler returned or threw.
     *
     * @param payload the result, or Lambda's error object when {@code error}
     * @param error   the handler threw (or its input or output could not be mapped)
     */
    record Completed(byte[] payload, boolean error, long durationNanos, boolean reusable) implements Outcome {
    }

    /** The function answered with more than Lambda's 6 MB: the caller gets Lambda's error for it instead. */
    record TooLarge(long durationNanos, boolean reusable) implements Outcome {
    }

    /** The invocation ran past the function's timeout; the environment was killed. */
    record TimedOut(long durationNanos) implements Outcome {
        @Override
        public boolean reusable() {
            return false;
        }
    }

    /**
     * The child process died during the invocation.
     *
     * @param exit      how it ended
     * @param oomKilled the kernel's OOM killer ended it: the memory limit was reached
     */
    record Died(Exit exit, long durationNanos, boolean oomKilled) implements Outcome {
        @Override
        public boolean reusable() {
            return false;
        }
    }
}
