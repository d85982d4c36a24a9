package dev.bramble.daemon.env;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The deadlines of the invocations in flight, kept by one platform thread that fails each future whose deadline
 * passes with a {@link TimeoutException}. An invocation then waits on its future without a timeout of its own: a
 * virtual thread's timed wait schedules a timer and cancels it on every call, and that woke the JDK's timer thread
 * twice per invocation. Here registering and finishing are a map write each, and the thread sleeps until the
 * earliest deadline it knows of: it is woken only for a deadline earlier than that, so under steady load it wakes
 * about once per timeout, not once per call.
 */
final class Deadlines implements AutoCloseable {
    /** {@link #wakeAt} while the thread scans, or sleeps until woken: every new deadline wakes it. */
    private static final long UNPLANNED = Long.MAX_VALUE;
    /**
     * How long the thread, having found nothing in flight, still sleeps with a plan before it sleeps until woken: a
     * deadline is never sooner than this after it is registered (timeouts are whole seconds), so calls that come and
     * go one at a time do not wake it each.
     */
    private static final long QUIET_NANOS = 1_000_000_000L;

    private final ConcurrentHashMap<CompletableFuture<?>, Long> inFlight = new ConcurrentHashMap<>();
    private final AtomicLong registered = new AtomicLong();
    private final Thread thread;
    /** When the thread wakes next, System.nanoTime(), or {@link #UNPLANNED}. */
    private volatile long wakeAt = UNPLANNED;
    private volatile boolean closed;

    Deadlines() {
        thread = Thread.ofPlatform().name("bramble-env-deadlines").daemon(true).stackSize(ChannelPeer.STACK_BYTES)
                .start(this::run);
    }

    /**
     * Fails {@code future} with a {@link TimeoutException} unless it completes within {@code timeoutMs}; its
     * completion, either way, removes it.
     */
    <T> CompletableFuture<T> within(CompletableFuture<T> future, long timeoutMs) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        inFlight.put(future, deadline);
        registered.incrementAndGet();
        future.whenComplete((r, e) -> inFlight.remove(future));
        long plan = wakeAt; // read after the put: a scan that missed the entry set UNPLANNED before it began
        if (plan == UNPLANNED || deadline - plan < 0) {
            LockSupport.unpark(thread);
        }
        return future;
    }

    private void run() {
        long seen = 0;
        while (!closed) {
            wakeAt = UNPLANNED;
            long now = System.nanoTime();
            long earliest = 0;
            boolean any = false;
            for (var e : inFlight.entrySet()) {
                long deadline = e.getValue();
                if (deadline - now <= 0) {
                    expire(e.getKey());
                } else if (!any || deadline - earliest < 0) {
                    earliest = deadline;
                    any = true;
                }
            }
            long count = registered.get();
            if (any) {
                wakeAt = earliest;
                LockSupport.parkNanos(this, earliest - now);
            } else if (count != seen) {
                wakeAt = now + QUIET_NANOS;
                LockSupport.parkNanos(this, QUIET_NANOS);
            } else {
                LockSupport.park(this); // nothing in flight for a while: until the next deadline
            }
            seen = count;
        }
    }

    /**
     * Fails one future. Nothing a completion runs may end this thread: without it no invocation would time out,
     * and a function that never answers would hold its environment for ever.
     */
    private void expire(CompletableFuture<?> future) {
        try {
            future.completeExceptionally(new TimeoutException("deadline passed"));
        } catch (RuntimeException | Error e) {
            inFlight.remove(future);
            System.getLogger(Deadlines.class.getName()).log(System.Logger.Level.ERROR,
                    "deadlines.expire-failed error={0}", e.toString());
        }
    }

    /** How many invocations have a deadline now. */
    int size() {
        return inFlight.size();
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
    }
}
