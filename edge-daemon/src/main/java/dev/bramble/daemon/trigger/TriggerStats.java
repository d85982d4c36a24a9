package dev.bramble.daemon.trigger;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one trigger since the daemon started: events received, invocations run (each attempt), invocations
 * that failed, and events dropped (oversized, refused, or a schedule run skipped).
 */
public final class TriggerStats {
    final LongAdder received = new LongAdder();
    final LongAdder invoked = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder dropped = new LongAdder();

    Map<String, Object> snapshot() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("received", received.sum());
        m.put("invoked", invoked.sum());
        m.put("failed", failed.sum());
        m.put("dropped", dropped.sum());
        return m;
    }
}
