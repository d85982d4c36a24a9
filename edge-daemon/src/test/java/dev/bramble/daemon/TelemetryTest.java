package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bramble.deployer.Deployer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Metrics and logs from a daemon to a real deployer: Prometheus text on the device, the link in /v1/status, and
 * {@code bramble logs} / {@code bramble metrics} reading what the device uploaded.
 */
class TelemetryTest {
    private static final String ADMIN = "admin-token-for-telemetry-tests-0123456789";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path tmp;
    private Deployer deployer;
    private TestDaemon daemon;

    @BeforeEach
    void start() throws Exception {
        Path config = tmp.resolve("deployer.yaml");
        Files.writeString(config, "data-dir: " + tmp.resolve("deployer") + "\nhttp:\n  port: 0\nadmin:\n  token: "
                + ADMIN + "\n");
        deployer = Deployer.start(config);
        String token = TestDaemon.JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + deployer.port() + "/v1/enrolment-tokens")).header("Authorization", "Bearer " + ADMIN)
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString())
                .body()).path("token").asText();
        daemon = TestDaemon.start(tmp.resolve("device"), """
                agent:
                  deployer-url: http://127.0.0.1:%d
                  enrolment-token: %s
                  trusted-keys: %s
                  poll-wait-seconds: 2
                sync:
                  batch-max-age-ms: 100
                  metrics-interval-seconds: 1
                """.formatted(deployer.port(), token, Files.createDirectories(tmp.resolve("keys"))));
    }

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
        if (deployer != null) {
            deployer.close();
        }
    }

    @Test
    void metricsAndLogsReachTheDeployerAndTheCliReadsThem() throws Exception {
        daemon.deployOk(Bundles.example("hello"));
        for (int i = 0; i < 3; i++) {
            assertThat(daemon.invoke("hello", "{\"name\": \"telemetry-" + i + "\"}").status()).isEqualTo(200);
        }

        TestDaemon.Response prom = daemon.get("/metrics");
        assertThat(prom.status()).isEqualTo(200);
        assertThat(prom.header("Content-Type").orElse("")).startsWith("text/plain");
        assertThat(prom.text()).contains("bramble_invocations_total{function=\"hello\"} 3.0")
                .contains("bramble_cold_starts_total{function=\"hello\"} 1.0")
                .contains("bramble_duration_seconds_count{function=\"hello\"} 3")
                .contains("bramble_init_duration_seconds_count{function=\"hello\"} 1")
                .contains("bramble_concurrent_executions{function=\"hello\"} 0.0")
                .containsPattern("bramble_max_memory_used_bytes\\{function=\"hello\"} [1-9]")
                .containsPattern("bramble_daemon_resident_bytes [1-9]");

        // The outbox holds function logs and payloads: no other user of the device may read it.
        try (var files = Files.list(tmp.resolve("device"))) {
            List<Path> dbs = files.filter(f -> f.getFileName().toString().matches("(state|outbox)\\.db.*")).toList();
            assertThat(dbs).extracting(f -> f.getFileName().toString()).contains("state.db", "outbox.db");
            for (Path db : dbs) {
                assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(db)))
                        .as("%s", db).isEqualTo("rw-------");
            }
        }

        String device = daemon.get("/v1/status").json().path("agent").path("deviceId").asText();
        await("the link up and the backlog sent").atMost(30, SECONDS).until(() -> {
            JsonNode sync = daemon.get("/v1/status").json().path("sync");
            return sync.path("link").asText().equals("online") && sync.path("backlog").path("entries").asLong() == 0
                    && !sync.path("lastSuccess").isNull();
        });

        await("the lines at the deployer").atMost(30, SECONDS).until(() -> cli(0, "logs", "--device", device,
                "--function", "hello", "--since", "10m").contains("END RequestId"));
        String logs = cli(0, "logs", "--device", device, "--function", "hello", "--since", "10m");
        assertThat(logs).contains("START RequestId").contains("REPORT RequestId");
        assertThat(logs.lines().filter(l -> l.contains("END RequestId"))).hasSize(3);

        await("a metrics snapshot with the three invocations").atMost(30, SECONDS).until(() -> cli(0, "metrics",
                "--device", device, "--function", "hello").matches("(?s).*invocations\\s+3\\n.*"));
        String metrics = cli(0, "metrics", "--device", device, "--function", "hello");
        assertThat(metrics).contains("cold_starts").doesNotContain("daemon_resident_bytes");
        assertThat(cli(0, "metrics", "--device", device)).contains("daemon_resident_bytes");

        // --follow prints lines as they arrive, until stopped.
        StringWriter followed = new StringWriter();
        Thread follower = Thread.ofVirtual().start(() -> dev.bramble.cli.Bramble.run(new String[]{"--deployer",
                "http://127.0.0.1:" + deployer.port(), "--token", ADMIN, "logs", "--device", device, "--function",
                "hello", "--since", "10m", "--follow", "--poll-ms", "100"}, new PrintWriter(followed, true),
                new PrintWriter(new StringWriter(), true)));
        await("the follower to catch up").atMost(30, SECONDS).until(() -> followed.toString().lines()
                .filter(l -> l.contains("END RequestId")).count() == 3);
        String requestId = daemon.invoke("hello", "{\"name\": \"later\"}").header("X-Amzn-RequestId")
                .orElseThrow();
        await("a new line followed").atMost(30, SECONDS).until(() -> followed.toString()
                .contains("END RequestId: " + requestId));
        follower.interrupt();
        follower.join(10_000);
        assertThat(follower.isAlive()).isFalse();
        assertThat(followed.toString().lines().filter(l -> l.contains("END RequestId"))).hasSize(4);

        assertThat(cli(2, "logs", "--device", device, "--function", "hello", "--since", "yesterday"))
                .contains("--since 'yesterday' is not allowed; use 30s, 10m, 2h, 7d");
    }

    /** Runs the CLI against the deployer; returns stdout, or stderr when the exit code is not 0. */
    private String cli(int expectedExit, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 4];
        System.arraycopy(new String[]{"--deployer", "http://127.0.0.1:" + deployer.port(), "--token", ADMIN}, 0, all,
                0, 4);
        System.arraycopy(args, 0, all, 4, args.length);
        int exit = dev.bramble.cli.Bramble.run(all, new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(exit).as(String.join(" ", args) + ": " + err).isEqualTo(expectedExit);
        return expectedExit == 0 ? out.toString() : err.toString();
    }
}
