package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Several environments for concurrent requests, up to the cap; the rest wait, then are throttled; idle ones retire. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConcurrencyTest {
    @TempDir
    static Path dir;
    TestDaemon d;
    final TestClock clock = TestClock.frozenAt(Instant.parse("2026-11-22T10:00:00Z"));

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), """
                pool:
                  queue-timeout-ms: 3000
                  idle-ttl-seconds: 60
                """, clock);
    }

    @AfterAll
    void stop() {
        d.close();
    }

    @Test
    void tenConcurrentCallsAreAllAnsweredByAtMostTheCap() throws Exception {
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("busy",
                "\"concurrency\": {\"reserved\": 3}")));
        List<Future<TestDaemon.Response>> calls = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(10)) {
            for (int i = 0; i < 10; i++) {
                calls.add(pool.submit(() -> d.invoke("busy", "{\"sleepMs\":300}")));
            }
        }
        Set<String> streams = new HashSet<>();
        for (Future<TestDaemon.Response> f : calls) {
            TestDaemon.Response r = f.get(60, SECONDS);
            assertThat(r.status()).as(r.text()).isEqualTo(200);
            assertThat(r.header("X-Amz-Function-Error")).isEmpty();
            assertThat(r.json().get("sleptMs").asInt()).isEqualTo(300);
            streams.add(r.json().get("stream").asText());
        }
        assertThat(streams).hasSizeBetween(2, 3);
        JsonNode envs = d.get("/v1/functions/busy").json().get("environments");
        assertThat(envs.size()).isBetween(2, 3);
        assertThat(d.get("/v1/functions/busy").json().at("/counts/invocations").asInt()).isEqualTo(10);
    }

    @Test
    void callsBeyondTheCapWaitThenAreThrottledWith429() throws Exception {
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("single",
                "\"timeoutSeconds\": 10, \"concurrency\": {\"reserved\": 1}")));
        d.invoke("single", "{}");
        AtomicReference<TestDaemon.Response> slow = new AtomicReference<>();
        Thread t = Thread.ofVirtual().start(() -> slow.set(d.invoke("single", "{\"sleepMs\":6000}")));
        await().atMost(10, SECONDS).until(() -> d.get("/v1/functions/single").json()
                .at("/environments/0/state").asText().equals("BUSY"));
        TestDaemon.Response throttled = d.invoke("single", "{}");
        assertThat(throttled.status()).isEqualTo(429);
        assertThat(throttled.header("X-Amzn-ErrorType")).contains("TooManyRequestsException");
        assertThat(throttled.header("Retry-After")).contains("1");
        assertThat(throttled.json().get("message").asText()).contains("concurrency limit of 1");
        t.join(Duration.ofSeconds(30));
        assertThat(slow.get().status()).isEqualTo(200);
        assertThat(d.get("/v1/functions/single").json().at("/counts/throttles").asInt()).isEqualTo(1);
    }

    @Test
    void idleEnvironmentsRetireAfterTheTtl() {
        d.deployOk(Bundles.withManifest(Bundles.example("echo"), dir, """
                {"name":"ttl","runtime":"java21","handler":"dev.bramble.examples.echo.Echo"}"""));
        assertThat(d.invoke("ttl", "{}").status()).isEqualTo(200);
        long pid = d.get("/v1/functions/ttl").json().at("/environments/0/pid").asLong();
        clock.advance(Duration.ofSeconds(59));
        d.daemon().environments().reap();
        assertThat(d.get("/v1/functions/ttl").json().get("environments").size()).isEqualTo(1);
        clock.advance(Duration.ofSeconds(2));
        d.daemon().environments().reap();
        assertThat(d.get("/v1/functions/ttl").json().get("environments").size()).isZero();
        await().atMost(5, SECONDS).until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
        assertThat(d.invoke("ttl", "{}").logTail()).contains("Init Duration");
    }
}
