package dev.bramble.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** pool.max-environments, the device profile's cap on JVMs running at once, all functions together. */
class DeviceLimitTest {
    @TempDir
    Path tmp;

    @Test
    void atTheDeviceLimitAnIdleEnvironmentIsEvictedAndABusyOneMeans429() throws Exception {
        try (TestDaemon d = TestDaemon.start(tmp.resolve("data"), """
                pool:
                  max-environments: 1
                  queue-timeout-ms: 200
                runtime:
                  class-data-archives: false
                """)) {
            d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), tmp, Bundles.misbehave("first",
                    "\"timeoutSeconds\": 20")));
            d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), tmp, Bundles.misbehave("second",
                    "\"timeoutSeconds\": 20")));
            assertThat(d.invoke("first", "{}").status()).isEqualTo(200);
            assertThat(d.get("/v1/functions/first").json().path("environments").size()).isEqualTo(1);

            assertThat(d.invoke("second", "{}").status()).isEqualTo(200); // first's idle JVM made room
            await().atMost(10, SECONDS).until(() -> d.get("/v1/functions/first").json().path("environments")
                    .isEmpty());

            CompletableFuture<TestDaemon.Response> busy = CompletableFuture.supplyAsync(() ->
                    d.invoke("second", "{\"sleepMs\": 2000}"));
            await().atMost(10, SECONDS).until(() -> d.get("/v1/functions/second").json().path("environments")
                    .findValuesAsText("state").contains("BUSY"));
            TestDaemon.Response throttled = d.invoke("first", "{}");
            assertThat(throttled.status()).isEqualTo(429);
            assertThat(throttled.json().path("message").asText()).contains("most environments at once (1, "
                    + "pool.max-environments)");
            assertThat(busy.get(30, SECONDS).status()).isEqualTo(200);
        }
    }
}
