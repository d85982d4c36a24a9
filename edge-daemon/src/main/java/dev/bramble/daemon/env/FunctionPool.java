package dev.bramble.daemon.env;

import dev.bramble.daemon.function.FunctionVersion;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The environments of one function version: reuses an idle one (the most recently used first, so the others age
 * out), cold-starts a new one while under the cap, and otherwise queues the request until one frees up or the
 * queue timeout passes. Child processes are started and stopped outside the lock.
 */
public final class FunctionPool {
    /** Starts environments; the pool owns what it returns. */
    @FunctionalInterface
    interface Starter {
        Environment start(FunctionVersion v) throws InitFailedException;
    }

    private final FunctionVersion version;
    private final int cap;
    private final Starter starter;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Deque<Environment> idle = new ArrayDeque<>();
    private final Set<Environment> all = new LinkedHashSet<>();
    private int starting;
    private boolean closed;

    FunctionPool(FunctionVersion version, int cap, Starter starter) {
        this.version = version;
        this.cap = cap;
        this.starter = starter;
    }

    /**
     * An environment, busy for the caller, who must {@link #release} it.
     *
     * @param env  the environment
     * @param cold true when it was started for this request
     */
    public record Lease(Environment env, boolean cold) {
    }

    Lease acquire(Duration wait) throws InitFailedException {
        long deadline = System.nanoTime() + wait.toNanos();
        lock.lock();
        try {
            while (true) {
                if (closed) {
                    throw new IllegalStateException("pool of " + version.label() + " is closed");
                }
                Environment e = idle.pollFirst();
                if (e != null) {
                    e.busy();
                    return new Lease(e, false);
                }
                if (all.size() + starting < cap) {
                    starting++;
                    break;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new ThrottledException(version.function(), cap, wait.toMillis());
                }
                changed.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ThrottledException(version.function(), cap, wait.toMillis());
        } finally {
            lock.unlock();
        }
        return coldStart();
    }

    private Lease coldStart() throws InitFailedException {
        Environment env = null;
        try {
            env = starter.start(version);
            return new Lease(env, true);
        } finally {
            boolean stopNow = false;
            lock.lock();
            try {
                starting--;
                if (env != null) {
                    if (closed) {
                        stopNow = true;
                    } else {
                        all.add(env);
                    }
                }
                changed.signal();
            } finally {
                lock.unlock();
            }
            if (stopNow) {
                env.stop();
                throw new IllegalStateException("pool of " + version.label() + " closed during a cold start");
            }
        }
    }

    /** Returns an environment after an invocation; one that may not be reused is stopped. */
    void release(Environment env, boolean reusable) {
        boolean stop;
        lock.lock();
        try {
            stop = closed || !reusable || !env.alive();
            if (stop) {
                all.remove(env);
            } else {
                env.idle();
                idle.addFirst(env);
            }
            changed.signal();
        } finally {
            lock.unlock();
        }
        if (stop) {
            env.stop();
        }
    }

    /** Stops environments idle since before {@code now - ttl}; returns how many. */
    int reap(Instant now, Duration ttl) {
        List<Environment> expired = new ArrayList<>();
        lock.lock();
        try {
            idle.removeIf(e -> {
                if (e.lastUsed().plus(ttl).isAfter(now)) {
                    return false;
                }
                expired.add(e);
                all.remove(e);
                return true;
            });
        } finally {
            lock.unlock();
        }
        expired.forEach(Environment::stop);
        return expired.size();
    }

    /** Every environment, busy ones included. */
    List<Environment> environments() {
        lock.lock();
        try {
            return List.copyOf(all);
        } finally {
            lock.unlock();
        }
    }

    boolean isEmpty() {
        lock.lock();
        try {
            return all.isEmpty() && starting == 0;
        } finally {
            lock.unlock();
        }
    }

    /** Stops every environment, busy ones too, and refuses new work. */
    void close() {
        List<Environment> victims;
        lock.lock();
        try {
            closed = true;
            victims = List.copyOf(all);
            all.clear();
            idle.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        List<Thread> stoppers = victims.stream().map(e -> Thread.ofVirtual().start(e::stop)).toList();
        for (Thread t : stoppers) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    FunctionVersion version() {
        return version;
    }

    int cap() {
        return cap;
    }
}
