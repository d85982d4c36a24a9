package dev.bramble.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

/** concurrency.perEnvironment: one JVM serves N invocations at once, each with its own log lines. */
class PerEnvironmentConcurrencyTest {
    @TempDir
    Path dir;

    @Test
    void oneEnvironmentRunsFourInvocationsAtOnceAndKeepsTheirLogsApart() throws Exception {
        try (TestDaemon d = TestDaemon.start(dir.resolve("data"), "runtime:\n  class-data-archives: false\n")) {
            d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("shared",
                    "\"timeoutSeconds\": 20, \"concurrency\": {\"reserved\": 1, \"perEnvironment\": 4}")));
            d.invoke("shared", "{}"); // the cold start, out of the way
            List<Future<TestDaemon.Response>> calls = new ArrayList<>();
            long t0 = System.nanoTime();
            try (ExecutorService clients = Executors.newFixedThreadPool(4)) {
                for (int i = 0; i < 4; i++) {
                    calls.add(clients.submit(() -> d.invoke("shared", "{\"sleepMs\":1500,\"logLines\":2}")));
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            Set<String> streams = new HashSet<>();
            for (Future<TestDaemon.Response> f : calls) {
                TestDaemon.Response r = f.get(30, SECONDS);
                assertThat(r.status()).as(r.text()).isEqualTo(200);
                assertThat(r.header("X-Amz-Function-Error")).isEmpty();
                streams.add(r.json().get("stream").asText());
                String id = r.header("X-Amzn-RequestId").orElseThrow();
                assertThat(r.logTail().lines().toList()).containsExactly(
                        "START RequestId: " + id + " Version: 1", "line 0", "line 1", "END RequestId: " + id,
                        r.logTail().lines().toList().get(4));
                assertThat(r.logTail().lines().toList().get(4)).startsWith("REPORT RequestId: " + id);
            }
            assertThat(streams).hasSize(1);
            // Four 1.5 s calls one after another would take 6 s; at once they take little more than one.
            assertThat(seconds).isLessThan(4.0);
            assertThat(d.get("/v1/functions/shared").json().get("environments")).hasSize(1);
            assertThat(d.invoke("shared", "{\"throw\":\"still fine\"}").json().get("errorMessage").asText())
                    .isEqualTo("still fine");
        }
    }
}
