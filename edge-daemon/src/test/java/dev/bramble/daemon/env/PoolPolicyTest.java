package dev.bramble.daemon.env;

import dev.bramble.daemon.env.PoolPolicy.Decision;
import dev.bramble.daemon.env.PoolPolicy.Env;
import dev.bramble.daemon.env.PoolPolicy.Pool;
import dev.bramble.daemon.env.PoolPolicy.View;
import dev.bramble.daemon.env.ThrottledException.Reason;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pool's decisions from plain values, no JVM started: what a request reuses, what a cold start evicts, when it
 * waits and why it is throttled. (The same rules with real environments: dev.bramble.daemon.PoolBudgetTest.)
 */
class PoolPolicyTest {
    private static final Instant T = Instant.parse("2026-12-03T10:00:00Z");

    private static Env<String> idle(String name, int secondsAgo) {
        return new Env<>(name, 0, 1, T.minusSeconds(secondsAgo), false, true);
    }

    private static Env<String> busy(String name, int inFlight, int capacity) {
        return new Env<>(name, inFlight, capacity, T, false, true);
    }

    private static Pool<String> pool(String function, int cap, long memoryMb, List<Env<String>> idle,
                                     List<Env<String>> busy) {
        return new Pool<>(function, cap, 0, memoryMb, 0, idle, busy);
    }

    /** A device with room for {@code budgetMb}, at most 10 environments and a queue of 2. */
    private static View<String> device(long budgetMb, List<Pool<String>> pools) {
        long used = 0;
        for (Pool<String> p : pools) {
            used += p.size() * p.memoryMb();
        }
        return new View<>(budgetMb, used, 10, 2, 0, pools);
    }

    @Test
    void theMostRecentlyUsedIdleEnvironmentIsReusedAndDeadOnesOnTheWayAreNamed() {
        Env<String> dead = new Env<>("dead", 0, 1, T, false, false);
        Pool<String> echo = pool("echo", 4, 128, List.of(dead, idle("recent", 1), idle("older", 60)), List.of());
        Decision<String> d = PoolPolicy.acquire(device(1024, List.of(echo)), echo, false, true);
        assertThat(d).isEqualTo(new Decision.Reuse<>("recent", List.of("dead")));
    }

    @Test
    void aBusyEnvironmentWithRoomIsSharedTheBusiestFirst() {
        Pool<String> echo = pool("echo", 4, 128, List.of(idle("idle", 1)),
                List.of(busy("one", 1, 4), busy("three", 3, 4), busy("full", 4, 4)));
        assertThat(PoolPolicy.acquire(device(1024, List.of(echo)), echo, false, true))
                .isEqualTo(new Decision.Reuse<>("three", List.of()));
    }

    @Test
    void aColdStartFitsTheBudgetByEvictingTheLeastRecentlyUsedIdleEnvironmentOfAnother() {
        Pool<String> a = pool("a", 4, 128, List.of(idle("a-old", 300), idle("a-new", 5)), List.of());
        Pool<String> b = pool("b", 4, 128, List.of(), List.of(busy("b-busy", 1, 1)));
        Pool<String> c = pool("c", 4, 128, List.of(), List.of());
        // 3 × 128 used of 400: one more needs one evicted, the oldest idle
        assertThat(PoolPolicy.acquire(device(400, List.of(a, b, c)), c, false, true))
                .isEqualTo(new Decision.Start<>(List.of("a-old")));
    }

    @Test
    void provisionedAndBusyEnvironmentsAreNeverEvictedSoAFullDeviceWaitsThenThrottles() {
        Env<String> warm = new Env<>("kept-warm", 0, 1, T.minusSeconds(3600), true, true);
        Pool<String> a = pool("a", 4, 128, List.of(warm), List.of(busy("a-busy", 1, 1)));
        Pool<String> c = pool("c", 4, 128, List.of(), List.of());
        View<String> full = device(300, List.of(a, c));
        assertThat(PoolPolicy.acquire(full, c, false, true)).isEqualTo(new Decision.Wait<>(Reason.MEMORY));
        assertThat(PoolPolicy.acquire(full, c, true, false)).isEqualTo(new Decision.Throttle<>(Reason.MEMORY));
    }

    @Test
    void aFullQueueThrottlesAtOnceButOneAlreadyWaitingKeepsItsPlace() {
        Pool<String> echo = pool("echo", 1, 128, List.of(), List.of(busy("only", 1, 1)));
        View<String> queueFull = new View<>(1024, 128, 10, 2, 2, List.of(echo));
        assertThat(PoolPolicy.acquire(queueFull, echo, false, true))
                .isEqualTo(new Decision.Throttle<>(Reason.QUEUE_FULL));
        assertThat(PoolPolicy.acquire(queueFull, echo, true, true)).isEqualTo(new Decision.Wait<>(Reason.CONCURRENCY));
    }

    @Test
    void theCapCountsEveryVersionOfTheFunctionAcrossAnAliasSwitch() {
        // v1 runs 2 busy environments; the alias moved to v2; the function's cap is 2
        Pool<String> v1 = pool("echo", 2, 128, List.of(), List.of(busy("v1-a", 1, 1), busy("v1-b", 1, 1)));
        Pool<String> v2 = pool("echo", 2, 128, List.of(), List.of());
        View<String> view = device(1024, List.of(v1, v2));
        assertThat(PoolPolicy.acquire(view, v2, false, true)).isEqualTo(new Decision.Wait<>(Reason.CONCURRENCY));
        assertThat(PoolPolicy.spare(view, v2)).isFalse();
    }

    @Test
    void theOldVersionsIdleEnvironmentsMakeWayForTheNewOneUnderTheCap() {
        Pool<String> v1 = pool("echo", 2, 128, List.of(idle("v1-idle", 10)), List.of(busy("v1-busy", 1, 1)));
        Pool<String> v2 = pool("echo", 2, 128, List.of(), List.of());
        Pool<String> other = pool("other", 4, 128, List.of(idle("other-idle", 900)), List.of());
        // the cap is the reason to evict, so the function's own stale version goes, not another function's
        assertThat(PoolPolicy.acquire(device(1024, List.of(v1, v2, other)), v2, false, true))
                .isEqualTo(new Decision.Start<>(List.of("v1-idle")));
    }

    @Test
    void theDeviceLimitEvictsOnlyWhatItMustAndNothingForItsOwnPool() {
        Pool<String> a = pool("a", 4, 64, List.of(idle("a-1", 100), idle("a-2", 50)), List.of());
        Pool<String> b = pool("b", 4, 64, List.of(idle("b-own", 999)), List.of());
        View<String> atLimit = new View<>(10_000, 3 * 64, 3, 2, 0, List.of(a, b));
        // at 3 of 3: one must go; b's own idle one would be reused, so ask for a version with none
        Pool<String> c = pool("c", 4, 64, List.of(), List.of());
        View<String> withC = new View<>(10_000, 3 * 64, 3, 2, 0, List.of(a, b, c));
        assertThat(PoolPolicy.acquire(withC, c, false, true)).isEqualTo(new Decision.Start<>(List.of("b-own")));
        assertThat(PoolPolicy.acquire(atLimit, b, false, true)).isEqualTo(new Decision.Reuse<>("b-own", List.of()));
        assertThat(PoolPolicy.spare(withC, c)).as("a warm-up evicts nothing").isFalse();
    }

    @Test
    void anotherFunctionsUnusedReservationIsRoomNobodyElseTakes() {
        Pool<String> reserved = new Pool<>("reserved", 2, 2, 128, 0, List.of(), List.of());
        Pool<String> other = pool("other", 4, 128, List.of(), List.of(busy("o", 1, 1)));
        // 512 budget, 128 used, 256 reserved by a function running nothing: 128 free, enough for one more
        View<String> view = device(512, List.of(reserved, other));
        assertThat(PoolPolicy.acquire(view, other, false, true)).isEqualTo(new Decision.Start<>(List.of()));
        Pool<String> busier = pool("other", 4, 128, List.of(), List.of(busy("o", 1, 1), busy("p", 1, 1)));
        View<String> fuller = new View<>(512, 256, 10, 2, 0, List.of(reserved, busier));
        assertThat(PoolPolicy.start(fuller, busier)).isEqualTo(new Decision.Throttle<>(Reason.MEMORY));
        // the reserving function itself may use its reservation
        assertThat(PoolPolicy.start(fuller, reserved)).isEqualTo(new Decision.Start<>(List.of()));
    }

    @Test
    void aReservationSpreadOverVersionsIsCountedOnce() {
        // two versions of "reserved" each reserving 2 × 128: the function holds back 256, not 512
        Pool<String> r1 = new Pool<>("reserved", 2, 2, 128, 0, List.of(), List.of());
        Pool<String> r2 = new Pool<>("reserved", 2, 2, 128, 0, List.of(), List.of());
        Pool<String> other = pool("other", 4, 128, List.of(), List.of());
        assertThat(PoolPolicy.start(device(384, List.of(r1, r2, other)), other))
                .isEqualTo(new Decision.Start<>(List.of()));
    }
}
