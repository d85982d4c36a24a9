package dev.bramble.deployer;

import dev.bramble.protocol.Bundle;
import dev.bramble.protocol.DeploymentErrorCode;
import dev.bramble.protocol.DeploymentReport;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

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

    @Test
    void reportsPouringIntoTwoReplicasAtOnceAreEachCountedOnceAndTheRolloutEndsByItself() throws Exception {
        String fn = function(1);
        String group = unique("g");
        List<String> devices = devices(group, 400);
        String id = deploy(fn, "1", group, "{\"maxFailures\": 400}");
        assertThat(count(id, "pending")).isEqualTo(400);
        // Two running replicas, tickers and all; reports take no rollout lock, and a report whose step finds the
        // lock taken leaves it to whoever holds it, or to the ticker soon after.
        Fleet a = Fleet.open(Database.open(postgres.url() + "?user=bramble", "", ""), clock, Bundle.Limits.DEFAULT)
                .start();
        Fleet b = Fleet.open(Database.open(postgres.url() + "?user=bramble", "", ""), clock, Bundle.Limits.DEFAULT)
                .start();
        try (ExecutorService pool = Executors.newFixedThreadPool(32)) {
            List<CompletableFuture<Void>> sent = new java.util.ArrayList<>();
            for (int i = 0; i < devices.size(); i++) {
                String device = devices.get(i);
                Fleet via = i % 2 == 0 ? a : b;
                boolean failing = i % 10 == 0;
                sent.add(CompletableFuture.runAsync(() -> {
                    DeploymentReport r = failing ? DeploymentReport.failed(id, DeploymentErrorCode.SMOKE_TEST_FAILED,
                            "boom") : DeploymentReport.succeeded(id);
                    via.rollouts().report(device, r);
                    // the same report again, through the other replica: a device retrying after a lost answer
                    (via == a ? b : a).rollouts().report(device, r);
                }, pool));
            }
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        } finally {
            // the clock has not moved: what ends the rollout is the reports' steps, not a deadline
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> state(id).equals("succeeded"));
            a.close();
            b.close();
        }
        assertThat(count(id, "succeeded")).isEqualTo(360);
        assertThat(count(id, "failed")).isEqualTo(40);
        for (int i = 0; i < devices.size(); i++) {
            // a failed device's desired state went back to what it had (nothing), exactly once
            assertThat(desiredVersion(devices.get(i), fn)).isEqualTo(i % 10 == 0 ? 0 : 1);
            assertThat(fleet.desired().of(devices.get(i)).revision()).isEqualTo(i % 10 == 0 ? 2 : 1);
        }
    }

    private static void await(CyclicBarrier barrier) {
        try {
            barrier.await();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
