package dev.bramble.daemon.env;

import dev.bramble.daemon.env.ThrottledException.Reason;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the pool does for a request, decided from plain values: no lock, no process, no clock. {@link Environments}
 * builds a {@link View} under its lock, asks, and carries out the answer; the tests ask without a single JVM.
 *
 * <p>The rules, in order:
 * <ol>
 *   <li><b>Reuse</b>: an environment of the version that takes more than one invocation at once and has room (the
 *   busiest such, so the others can go idle and retire); else its most recently used idle one.</li>
 *   <li><b>Start</b>: a cold start, when the <em>function</em> is under its cap (all its versions together, as
 *   Lambda's reserved concurrency counts: after an alias moves, the old version's environments still count) and
 *   the version's memory limit fits the device's budget after other functions' unused reservations, and the device
 *   runs fewer environments than its limit. To get there it may stop idle, on-demand environments: the function's
 *   own other versions' for the cap, and anyone's but the version's own for memory or the device limit, least
 *   recently used first. Provisioned environments are never stopped to make room.</li>
 *   <li><b>Wait</b> in the device-wide queue while there is time left and the queue has room;</li>
 *   <li>else <b>throttle</b>, saying why.</li>
 * </ol>
 */
final class PoolPolicy {
    private PoolPolicy() {
    }

    /** An environment as the policy sees it; {@code E} is whatever the caller names it by. */
    record Env<E>(E env, int inFlight, int capacity, Instant lastUsed, boolean provisioned, boolean alive) {
    }

    /**
     * One version's environments.
     *
     * @param function the function the version belongs to
     * @param cap      the most environments the function may run, from this version's manifest or the default
     * @param reserved environments guaranteed room in the memory budget (0: none)
     * @param memoryMb each environment's memory limit
     * @param starting cold starts under way
     * @param idle     idle environments, most recently used first
     * @param busy     environments running an invocation
     */
    record Pool<E>(String function, int cap, int reserved, long memoryMb, int starting, List<Env<E>> idle,
                   List<Env<E>> busy) {
        /** Environments running or starting. */
        int size() {
            return starting + idle.size() + busy.size();
        }
    }

    /**
     * The device at one moment.
     *
     * @param budgetMb        the memory limits of all environments together may not pass this
     * @param usedMb          the memory limits of every environment running or starting (training ones too)
     * @param maxEnvironments environments running or starting at once, all functions together
     * @param queueLength     requests that may wait at once
     * @param waiting         requests waiting now
     * @param pools           every version's pool, the requester's included
     */
    record View<E>(long budgetMb, long usedMb, int maxEnvironments, int queueLength, int waiting,
                   Collection<Pool<E>> pools) {
    }

    /** The answer. */
    sealed interface Decision<E> {
        /** Run on {@code env}; {@code dead} are idle ones found dead on the way, to forget and stop. */
        record Reuse<E>(E env, List<E> dead) implements Decision<E> {
        }

        /** Start one after stopping {@code evict} (already idle; theirs to forget and stop). */
        record Start<E>(List<E> evict) implements Decision<E> {
        }

        /** Wait for a change, at most the time left; {@code reason} is what blocks a start now. */
        record Wait<E>(Reason reason) implements Decision<E> {
        }

        /** Refuse: no room, and no time or place left to wait. */
        record Throttle<E>(Reason reason) implements Decision<E> {
        }
    }

    /**
     * What a request for {@code requester} does now.
     *
     * @param queued   whether the request is already waiting (counted in {@link View#waiting})
     * @param timeLeft whether its queue timeout has time left
     */
    static <E> Decision<E> acquire(View<E> view, Pool<E> requester, boolean queued, boolean timeLeft) {
        Decision<E> reuse = reuse(requester);
        if (reuse != null) {
            return reuse;
        }
        Decision<E> start = start(view, requester);
        if (start instanceof Decision.Start<E>) {
            return start;
        }
        Reason blocked = ((Decision.Throttle<E>) start).reason();
        if (!queued && view.waiting() >= view.queueLength()) {
            return new Decision.Throttle<>(Reason.QUEUE_FULL);
        }
        return timeLeft ? new Decision.Wait<>(blocked) : new Decision.Throttle<>(blocked);
    }

    /**
     * A running environment of the version to use, or null when it has none free: the warm path, which needs only
     * the version's own pool.
     */
    static <E> Decision<E> reuse(Pool<E> pool) {
        Env<E> shared = null;
        for (Env<E> e : pool.busy()) {
            if (e.inFlight() < e.capacity() && (shared == null || e.inFlight() > shared.inFlight())) {
                shared = e;
            }
        }
        if (shared != null) {
            return new Decision.Reuse<>(shared.env(), List.of());
        }
        List<E> dead = new ArrayList<>();
        for (Env<E> e : pool.idle()) {
            if (e.alive()) {
                return new Decision.Reuse<>(e.env(), dead);
            }
            dead.add(e.env()); // killed while idle (by hand, by the kernel)
        }
        return null;
    }

    /**
     * Whether one more environment of {@code requester} may start now, and what must stop first; a
     * {@link Decision.Throttle} says what blocks it.
     */
    static <E> Decision<E> start(View<E> view, Pool<E> requester) {
        List<Env<E>> victims = new ArrayList<>();
        // The cap: the function's own idle environments of other versions may go (an alias moved past them).
        int over = functionSize(view, requester.function()) + 1 - requester.cap();
        if (over > 0) {
            List<Env<E>> stale = evictable(view, requester, true);
            if (stale.size() < over) {
                return new Decision.Throttle<>(Reason.CONCURRENCY);
            }
            victims.addAll(stale.subList(0, over));
        }
        long need = requester.memoryMb();
        long free = view.budgetMb() - view.usedMb() - reservationsOfOthers(view, requester.function());
        int running = 0;
        for (Pool<E> p : view.pools()) {
            running += p.size();
        }
        for (Env<E> v : victims) {
            free += memoryOf(view, v);
        }
        int overDevice = running - victims.size() + 1 - view.maxEnvironments();
        if (free < need || overDevice > 0) {
            for (Env<E> candidate : evictable(view, requester, false)) {
                if (free >= need && overDevice <= 0) {
                    break;
                }
                if (victims.contains(candidate)) {
                    continue;
                }
                victims.add(candidate);
                free += memoryOf(view, candidate);
                overDevice--;
            }
            if (free < need) {
                return new Decision.Throttle<>(Reason.MEMORY);
            }
            if (overDevice > 0) {
                return new Decision.Throttle<>(Reason.DEVICE_LIMIT);
            }
        }
        return new Decision.Start<>(victims.stream().map(Env::env).toList());
    }

    /**
     * Whether one more environment of {@code requester} fits without stopping anything: for starts nobody waits on
     * (a schedule's warm-up, a class-data archive's training).
     */
    static <E> boolean spare(View<E> view, Pool<E> requester) {
        return start(view, requester) instanceof Decision.Start<E> s && s.evict().isEmpty();
    }

    private static <E> int functionSize(View<E> view, String function) {
        int n = 0;
        for (Pool<E> p : view.pools()) {
            if (p.function().equals(function)) {
                n += p.size();
            }
        }
        return n;
    }

    /**
     * Idle, on-demand environments that may stop to make room, least recently used first: of the function's other
     * versions only ({@code sameFunction}), or of every pool but the requester's.
     */
    private static <E> List<Env<E>> evictable(View<E> view, Pool<E> requester, boolean sameFunction) {
        List<Env<E>> out = new ArrayList<>();
        for (Pool<E> p : view.pools()) {
            if (p == requester || sameFunction && !p.function().equals(requester.function())) {
                continue;
            }
            for (Env<E> e : p.idle()) {
                if (!e.provisioned()) {
                    out.add(e);
                }
            }
        }
        out.sort(Comparator.comparing(Env::lastUsed));
        return out;
    }

    private static <E> long memoryOf(View<E> view, Env<E> env) {
        for (Pool<E> p : view.pools()) {
            if (p.idle().contains(env)) {
                return p.memoryMb();
            }
        }
        throw new IllegalArgumentException("not an idle environment of this view: " + env.env());
    }

    /**
     * Memory other functions hold back: what each reserves (its largest reservation over its versions) less what
     * its environments already take, never below zero.
     */
    private static <E> long reservationsOfOthers(View<E> view, String function) {
        Map<String, long[]> byFunction = new HashMap<>(); // function → {reserved MB, used MB}
        for (Pool<E> p : view.pools()) {
            if (p.function().equals(function)) {
                continue;
            }
            long[] f = byFunction.computeIfAbsent(p.function(), k -> new long[2]);
            f[0] = Math.max(f[0], p.reserved() * p.memoryMb());
            f[1] += p.size() * p.memoryMb();
        }
        long sum = 0;
        for (long[] f : byFunction.values()) {
            sum += Math.max(0, f[0] - f[1]);
        }
        return sum;
    }
}
