package dev.bramble.deployer;

import dev.bramble.protocol.Bundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;

import static org.assertj.core.api.Assertions.assertThat;

/** The rollout tests on a real PostgreSQL, and two replicas stepping one rollout at once. */
class PostgresRolloutsTest extends RolloutsTests {
    private static Postgres postgres;

    @BeforeAll
    static void start() throws Exception {
        postgres = Postgres.start();
        open(postgres.url() + "?user=bramble");
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        close();
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    void twoReplicasSteppingOneRolloutReleaseEachDeviceOnceAndSpendTheRateOnce() throws Exception {
        String fn = function(1);
        String group = unique("g");
        List<String> devices = devices(group, 120);
        // 600 per minute: 10 devices in each 1-second step, however many replicas take it.
        String id = deploy(fn, "1", group, "{\"rate\": {\"perMinute\": 600}}");
        // A second replica: its own connections and its own in-process write lock, as another host would have.
        Fleet other = Fleet.open(Database.open(postgres.url() + "?user=bramble", "", ""), clock,
                Bundle.Limits.DEFAULT);
        CyclicBarrier together = new CyclicBarrier(2);
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            for (int step = 1; step <= 8; step++) {
                clock.advance(Duration.ofSeconds(1));
                CompletableFuture<Integer> a = CompletableFuture.supplyAsync(() -> {
                    await(together);
                    return fleet.rollouts().tick();
                }, pool);
                CompletableFuture<Integer> b = CompletableFuture.supplyAsync(() -> {
                    await(together);
                    return other.rollouts().tick();
                }, pool);
                // One replica takes the step; the other, behind the row lock, finds nothing left to release.
                assertThat(a.get() + b.get()).as("replicas that changed the rollout in step " + step).isEqualTo(1);
                assertThat(count(id, "pending")).as("released after step " + step).isEqualTo(1 + 10L * step);
            }
        } finally {
            other.close();
        }
        // Each released device's desired state changed exactly once.
        long released = 0;
        for (String d : devices) {
            long revision = fleet.desired().of(d).revision();
            assertThat(revision).isBetween(0L, 1L);
            released += revision;
        }
        assertThat(released).isEqualTo(81);
    }

    private static void await(CyclicBarrier barrier) {
        try {
            barrier.await();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
