package dev.bramble.sync;

import dev.bramble.protocol.TelemetryEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The uploader against a real deployer over real sockets. */
class UploaderTest {
    @TempDir
    Path dir;

    private SyncAgent.Settings settings(Duration age, long bandwidth) {
        return new SyncAgent.Settings(dir.resolve("outbox.db"), 64L << 20, 500, 256 * 1024, age,
                Duration.ofMillis(100), Duration.ofMillis(400), bandwidth, Duration.ZERO);
    }

    private static List<String> lines(int from, int to) {
        List<String> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            out.add("line " + i);
        }
        return out;
    }

    private static void append(SyncAgent agent, int from, int to) {
        for (int i = from; i < to; i++) {
            agent.outbox().append(TelemetryEntry.log("fn", i, "env", "req", "line " + i));
        }
    }

    @SuppressWarnings("unchecked")
    private static long uploaded(SyncAgent agent, String key) {
        return ((Number) ((Map<String, Object>) agent.status().get("uploaded")).get(key)).longValue();
    }

    @SuppressWarnings("unchecked")
    private static long backlog(SyncAgent agent) {
        return ((Number) ((Map<String, Object>) agent.status().get("backlog")).get("entries")).longValue();
    }

    @Test
    void aBatchWhoseAnswerIsLostIsSentAgainAndStoredOnce() throws Exception {
        try (TestDeployer deployer = new TestDeployer(dir).start();
             LossyProxy proxy = new LossyProxy(deployer.port())) {
            SyncAgent.Endpoint device = deployer.enrol("http://127.0.0.1:" + proxy.port());
            proxy.loseNextAnswer();
            try (SyncAgent agent = SyncAgent.start(settings(Duration.ofMillis(50), 0), () -> Optional.of(device),
                    () -> "{}", Clock.systemUTC())) {
                append(agent, 0, 2_000);
                await().atMost(Duration.ofSeconds(30)).until(() -> backlog(agent) == 0
                        && deployer.logs(device.deviceId(), "fn").size() == 2_000);
                assertThat(proxy.lost()).isEqualTo(1);
                // The batch whose answer was lost came back as duplicates and was not stored again: the device
                // learnt of its entries only as duplicates.
                assertThat(uploaded(agent, "duplicates")).isPositive();
                assertThat(uploaded(agent, "entries") + uploaded(agent, "duplicates")).isEqualTo(2_000);
            }
            assertThat(deployer.logs(device.deviceId(), "fn")).containsExactlyElementsOf(lines(0, 2_000));
        }
    }

    @Test
    void withTheDeployerDownEverythingWaitsAndArrivesOnceItIsBackEvenAcrossARestart() throws Exception {
        try (TestDeployer deployer = new TestDeployer(dir).start()) {
            SyncAgent.Endpoint device = deployer.enrol(deployer.url());
            deployer.stop();
            try (SyncAgent agent = SyncAgent.start(settings(Duration.ofMillis(50), 0), () -> Optional.of(device),
                    () -> "{}", Clock.systemUTC())) {
                append(agent, 0, 1_000);
                await().atMost(Duration.ofSeconds(10)).until(() -> "offline".equals(agent.status().get("link")));
                assertThat(agent.status().get("lastError").toString()).contains("UNREACHABLE");
                assertThat(agent.outbox().flush(Duration.ofSeconds(10))).isTrue();
                assertThat(backlog(agent)).isEqualTo(1_000);
            }
            // The daemon restarts, still offline, and writes more; then the deployer comes back.
            try (SyncAgent agent = SyncAgent.start(settings(Duration.ofMillis(50), 0), () -> Optional.of(device),
                    () -> "{}", Clock.systemUTC())) {
                append(agent, 1_000, 1_500);
                deployer.start();
                await().atMost(Duration.ofSeconds(30)).until(() -> backlog(agent) == 0
                        && "online".equals(agent.status().get("link")));
                assertThat(agent.status().get("lastSuccess")).isNotNull();
            }
            assertThat(deployer.logs(device.deviceId(), "fn")).containsExactlyElementsOf(lines(0, 1_500));
        }
    }

    @Test
    void nothingLeavesBeforeTheDeviceHasAnIdentity() throws Exception {
        try (TestDeployer deployer = new TestDeployer(dir).start()) {
            AtomicReference<SyncAgent.Endpoint> identity = new AtomicReference<>();
            try (SyncAgent agent = SyncAgent.start(settings(Duration.ofMillis(50), 0),
                    () -> Optional.ofNullable(identity.get()), () -> "{}", Clock.systemUTC())) {
                append(agent, 0, 100);
                await().atMost(Duration.ofSeconds(10)).until(() -> "waiting-for-identity".equals(
                        agent.status().get("link")));
                assertThat(agent.outbox().flush(Duration.ofSeconds(10))).isTrue();
                assertThat(backlog(agent)).isEqualTo(100);
                identity.set(deployer.enrol(deployer.url()));
                await().atMost(Duration.ofSeconds(10)).until(() -> backlog(agent) == 0);
            }
            assertThat(deployer.logs(identity.get().deviceId(), "fn")).containsExactlyElementsOf(lines(0, 100));
        }
    }

    @Test
    void theBandwidthCapPacesBatches() throws Exception {
        try (TestDeployer deployer = new TestDeployer(dir).start()) {
            SyncAgent.Endpoint device = deployer.enrol(deployer.url());
            long rate = 20_000;
            SyncAgent.Settings s = new SyncAgent.Settings(dir.resolve("outbox.db"), 64L << 20, 50, 256 * 1024,
                    Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofMillis(400), rate, Duration.ZERO);
            try (SyncAgent agent = SyncAgent.start(s, () -> Optional.of(device), () -> "{}", Clock.systemUTC())) {
                // Random text does not compress: the bytes on the wire are close to the text's.
                java.util.Random random = new java.util.Random(7);
                for (int i = 0; i < 1_000; i++) {
                    byte[] b = new byte[60];
                    random.nextBytes(b);
                    agent.outbox().append(TelemetryEntry.log("fn", i, null, null,
                            java.util.HexFormat.of().formatHex(b)));
                }
                long t0 = System.nanoTime();
                await().atMost(Duration.ofSeconds(60)).until(() -> backlog(agent) == 0);
                double seconds = (System.nanoTime() - t0) / 1e9;
                long sent = uploaded(agent, "bytes");
                // A lower bound only: every byte but the first batch's waited for its share of the cap.
                assertThat(seconds).isGreaterThanOrEqualTo((sent - sent / uploaded(agent, "batches")) / (double) rate
                        * 0.9);
                assertThat(sent).isGreaterThan(3 * rate);
            }
        }
    }
}
