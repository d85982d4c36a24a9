package dev.bramble.daemon.env;

import dev.bramble.daemon.function.FunctionVersion;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The environments of one function version. Holds state only; {@link PoolPolicy} decides from its {@link #view},
 * and {@link Environments} guards every pool with its one lock and carries the decisions out.
 */
final class FunctionPool {
    final FunctionVersion version;
    final int cap;
    final int reserved;
    final Deque<Environment> idle = new ArrayDeque<>();
    final Set<Environment> all = new LinkedHashSet<>();
    int starting;
    /** The function was removed: the pool is out of the map and its memory out of the budget. */
    boolean removed;

    /**
     * @param version  the function version
     * @param cap      the most environments its function may run, all versions together
     * @param reserved environments guaranteed room in the memory budget (0 when none are reserved)
     */
    FunctionPool(FunctionVersion version, int cap, int reserved) {
        this.version = version;
        this.cap = cap;
        this.reserved = reserved;
    }

    int memoryMb() {
        return version.manifest().memoryMb();
    }

    /** The pool as {@link PoolPolicy} sees it: plain values, taken under the pool's lock. */
    PoolPolicy.Pool<Environment> view() {
        List<PoolPolicy.Env<Environment>> idleNow = new ArrayList<>(idle.size());
        for (Environment e : idle) {
            idleNow.add(env(e, e.alive()));
        }
        List<PoolPolicy.Env<Environment>> busy = new ArrayList<>(all.size() - idle.size());
        for (Environment e : all) {
            if (!idle.contains(e)) {
                busy.add(env(e, true)); // one that died mid-invocation is released as not reusable
            }
        }
        return new PoolPolicy.Pool<>(version.function(), cap, reserved, memoryMb(), starting, idleNow, busy);
    }

    private static PoolPolicy.Env<Environment> env(Environment e, boolean alive) {
        return new PoolPolicy.Env<>(e, e.inFlight, e.capacity(), e.lastUsed(), e.provisioned(), alive);
    }

    /** Environments kept warm for this version. */
    long provisioned() {
        return all.stream().filter(Environment::provisioned).count();
    }
}
