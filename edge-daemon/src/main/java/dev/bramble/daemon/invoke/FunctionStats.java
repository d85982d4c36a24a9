package dev.bramble.daemon.invoke;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counters of one function since the daemon started. */
public final class FunctionStats {
    final LongAdder invocations = new LongAdder();
    final LongAdder coldStarts = new LongAdder();
    final LongAdder warmStarts = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder timeouts = new LongAdder();
    final LongAdder exits = new LongAdder();
    final LongAdder oomKills = new LongAdder();
    final LongAdder initErrors = new LongAdder();
    final LongAdder throttles = new LongAdder();
    final LongAdder provisionedInvocations = new LongAdder();
    /** Invocations running now. */
    final java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
    /** The most memory one invocation's environment used, bytes. */
    final java.util.concurrent.atomic.AtomicLong maxMemoryBytes = new java.util.concurrent.atomic.AtomicLong();

    public long invocations() {
        return invocations.sum();
    }

    public long errors() {
        return errors.sum();
    }

    public long throttles() {
        return throttles.sum();
    }

    public long coldStarts() {
        return coldStarts.sum();
    }

    public long timeouts() {
        return timeouts.sum();
    }

    /** Invocations running now. */
    public int running() {
        return running.get();
    }

    /** The most memory an environment of this function used during an invocation since the daemon started, bytes. */
    public long maxMemoryBytes() {
        return maxMemoryBytes.get();
    }

    /** The counters by name. */
    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("invocations", invocations.sum());
        m.put("coldStarts", coldStarts.sum());
        m.put("warmStarts", warmStarts.sum());
        m.put("errors", errors.sum());
        m.put("timeouts", timeouts.sum());
        m.put("exits", exits.sum());
        m.put("oomKills", oomKills.sum());
        m.put("initErrors", initErrors.sum());
        m.put("throttles", throttles.sum());
        m.put("provisionedInvocations", provisionedInvocations.sum());
        return m;
    }
}
