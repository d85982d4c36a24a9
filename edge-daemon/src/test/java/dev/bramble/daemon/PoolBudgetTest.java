package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The device-wide memory budget, LRU eviction, throttling, reserved and provisioned concurrency, with real
 * environments (the decisions alone, without a JVM: dev.bramble.daemon.env.PoolPolicyTest).
 */
class PoolBudgetTest {
    @TempDir
    Path dir;
    TestDaemon d;
    final TestClock clock = TestClock.frozenAt(Instant.parse("2026-11-22T10:00:00Z"));

    @AfterEach
    void stop() {
        if (d != null) {
            d.close();
        }
    }

    /** A daemon whose budget holds two 128 MB environments, not three. */
    private void start() {
        // No class-data training starts here: they would take budget in the background while policy is measured.
        d = TestDaemon.start(dir.resolve("data"), """
                runtime:
                  class-data-archives: false
                pool:
                  memory-budget-mb: 300
                  queue-timeout-ms: 800
                  idle-ttl-seconds: 60
                """, clock);
    }

    private void deploy(String name, String extra) {
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave(name,
                "\"timeoutSeconds\": 20" + (extra.isEmpty() ? "" : ", " + extra))));
    }

    private List<String> running() {
        List<String> out = new ArrayList<>();
        d.get("/v1/status").json().get("environments").forEach(e -> out.add(e.get("function").asText()));
        return out;
    }

    @Test
    void leastRecentlyUsedIdleEnvironmentOfAnotherFunctionMakesRoom() {
        start();
        deploy("a", "");
        deploy("b", "");
        deploy("c", "");
        assertThat(d.invoke("a", "{}").status()).isEqualTo(200);
        clock.advance(Duration.ofSeconds(1));
        assertThat(d.invoke("b", "{}").status()).isEqualTo(200);
        clock.advance(Duration.ofSeconds(1));
        assertThat(running()).containsExactlyInAnyOrder("a", "b");
        TestDaemon.Response c = d.invoke("c", "{}");
        assertThat(c.status()).isEqualTo(200);
        assertThat(running()).containsExactlyInAnyOrder("b", "c");
        clock.advance(Duration.ofSeconds(1));
        d.invoke("b", "{}");
        clock.advance(Duration.ofSeconds(1));
        assertThat(d.invoke("a", "{}").status()).isEqualTo(200);
        assertThat(running()).containsExactlyInAnyOrder("a", "b");
        assertThat(d.get("/v1/status").json().at("/memory/usedMb").asInt()).isEqualTo(256);
    }

    @Test
    void theBudgetIsNeverExceededAndAFullDeviceThrottlesWithRetryAfter() throws Exception {
        start();
        deploy("a", "");
        deploy("b", "");
        deploy("c", "");
        AtomicBoolean watching = new AtomicBoolean(true);
        AtomicLong most = new AtomicLong();
        Thread watcher = Thread.ofVirtual().start(() -> {
            while (watching.get()) {
                most.accumulateAndGet(d.daemon().environments().usedMb(), Math::max);
                LockSupport.parkNanos(100_000);
            }
        });
        try {
            budgetHoldsUnderPressure();
        } finally {
            watching.set(false);
            watcher.join();
        }
        assertThat(most.get()).isBetween(128L, 300L);
        assertThat(d.get("/v1/functions/c").json().at("/counts/throttles").asInt()).isEqualTo(1);
    }

    private void budgetHoldsUnderPressure() throws InterruptedException {
        List<Thread> busy = new ArrayList<>();
        for (String f : List.of("a", "b")) {
            busy.add(Thread.ofVirtual().start(() -> d.invoke(f, "{\"sleepMs\":4000}")));
        }
        await().atMost(20, SECONDS).until(() -> running().size() == 2 && d.get("/v1/status").json()
                .get("environments").findValues("state").stream().allMatch(s -> s.asText().equals("BUSY")));
        TestDaemon.Response c = d.invoke("c", "{}");
        assertThat(c.status()).isEqualTo(429);
        assertThat(c.header("X-Amzn-ErrorType")).contains("TooManyRequestsException");
        assertThat(c.header("Retry-After")).contains("1");
        assertThat(c.json().get("message").asText()).contains("memory budget of 300 MB");
        for (Thread t : busy) {
            t.join(Duration.ofSeconds(30));
        }
        assertThat(d.invoke("c", "{}").status()).isEqualTo(200);
    }

    @Test
    void provisionedEnvironmentsAreReadyBeforeTheFirstCallAndSurvivePressureAndTtl() {
        start();
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("warm",
                "\"concurrency\": {\"reserved\": 1, \"provisioned\": 1}")));
        JsonNode envs = d.get("/v1/functions/warm").json().get("environments");
        assertThat(envs).hasSize(1);
        assertThat(envs.get(0).get("provisioned").asBoolean()).isTrue();
        TestDaemon.Response first = d.invoke("warm", "{}");
        assertThat(first.logTail()).doesNotContain("Init Duration");
        JsonNode counts = d.get("/v1/functions/warm").json().get("counts");
        assertThat(counts.get("coldStarts").asInt()).isZero();
        assertThat(counts.get("provisionedInvocations").asInt()).isEqualTo(1);

        // Pressure: the other 172 MB of the budget hold one on-demand environment; a second must wait, not evict.
        deploy("x", "");
        deploy("y", "");
        assertThat(d.invoke("x", "{}").status()).isEqualTo(200);
        clock.advance(Duration.ofSeconds(1));
        assertThat(d.invoke("y", "{}").status()).isEqualTo(200);
        assertThat(running()).containsExactlyInAnyOrder("warm", "y");

        clock.advance(Duration.ofMinutes(5));
        d.daemon().environments().reap();
        assertThat(running()).containsExactly("warm");
        assertThat(d.get("/v1/functions/warm").json().at("/environments/0/pid").asLong())
                .isEqualTo(envs.get(0).get("pid").asLong());
    }

    @Test
    void reservedConcurrencyIsRoomOthersCannotTake() {
        start();
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("kept",
                "\"concurrency\": {\"reserved\": 1}")));
        deploy("a", "");
        deploy("b", "");
        assertThat(d.invoke("a", "{}").status()).isEqualTo(200);
        // 128 MB are kept for 'kept': b cannot start beside a, so a (idle) is evicted for it.
        assertThat(d.invoke("b", "{}").status()).isEqualTo(200);
        assertThat(running()).containsExactly("b");
        assertThat(d.invoke("kept", "{}").status()).isEqualTo(200);
        assertThat(running()).containsExactlyInAnyOrder("b", "kept");
    }
}
