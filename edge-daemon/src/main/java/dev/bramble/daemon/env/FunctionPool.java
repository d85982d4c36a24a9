package dev.bramble.daemon.env;

import dev.bramble.daemon.function.FunctionVersion;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The environments of one function version. Holds state only; {@link Environments} owns the policy and guards every
 * pool with its one lock, so the memory budget, caps and queues are decided in one place.
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
     * @param cap      the most environments it may run
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

    /** Environments running or starting. */
    int size() {
        return all.size() + starting;
    }

    /** Memory this pool still holds back from others: its reservation not yet used. */
    long unusedReservationMb() {
        return (long) Math.max(0, reserved - size()) * memoryMb();
    }

    /**
     * A busy environment that can take one more invocation at once (the busiest such, so the others can go idle
     * and retire), or null.
     */
    Environment shareable() {
        Environment best = null;
        for (Environment e : all) {
            if (e.inFlight > 0 && e.inFlight < e.capacity() && (best == null || e.inFlight > best.inFlight)) {
                best = e;
            }
        }
        return best;
    }

    /** Environments kept warm for this version. */
    long provisioned() {
        return all.stream().filter(Environment::provisioned).count();
    }
}
