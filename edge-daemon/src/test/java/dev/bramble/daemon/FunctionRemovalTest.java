package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Deleting a function on a device (the admin API and Lambda's DeleteFunction): with real child JVMs, an invocation
 * under way finishes, then its environment is stopped, and nothing of the function is left but its log lines.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FunctionRemovalTest {
    @TempDir
    static Path dir;
    TestDaemon d;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "");
    }

    @AfterAll
    void stop() {
        d.close();
    }

    private Path doomed(String timeout) {
        return Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("doomed",
                "\"timeoutSeconds\": " + timeout));
    }

    @Test
    void aRunningInvocationFinishesThenTheEnvironmentStopsAndNothingOfTheFunctionIsLeft() throws Exception {
        JsonNode deployed = d.deployOk(doomed("20"));
        String sha = deployed.path("sha256").asText();
        assertThat(d.send("PUT", "/v1/functions/doomed/test-events/smoke", "{\"id\": 1}".getBytes(
                StandardCharsets.UTF_8), "Content-Type", "application/json").status()).isIn(200, 201);
        long budgetUsedBefore = d.get("/v1/status").json().path("memory").path("usedMb").asLong();

        CompletableFuture<TestDaemon.Response> running = CompletableFuture.supplyAsync(() -> d.invoke("doomed",
                "{\"sleepMs\": 3000, \"id\": \"last\"}"));
        await("the invocation is running").atMost(30, SECONDS).until(() -> d.get("/v1/functions/doomed").json()
                .path("environments").path(0).path("state").asText().equals("BUSY"));
        long pid = d.get("/v1/functions/doomed").json().path("environments").path(0).path("pid").asLong();
        assertThat(ProcessHandle.of(pid)).as("the environment's JVM").isPresent();

        TestDaemon.Response removed = d.send("DELETE", "/v1/functions/doomed", null);
        assertThat(removed.status()).as(removed.text()).isEqualTo(200);
        assertThat(removed.json().path("deletedVersions").toString()).isEqualTo("[1]");
        assertThat(d.get("/v1/functions/doomed").status()).isEqualTo(404);
        TestDaemon.Response gone = d.invoke("doomed", "{}");
        assertThat(gone.status()).isEqualTo(404);
        assertThat(gone.header("X-Amzn-ErrorType").orElse("")).contains("ResourceNotFoundException");

        // The invocation already under way is answered, then its environment goes.
        TestDaemon.Response last = running.get(30, SECONDS);
        assertThat(last.status()).as(last.text()).isEqualTo(200);
        assertThat(last.text()).contains("last");
        await("its JVM is stopped").atMost(15, SECONDS).until(() -> ProcessHandle.of(pid)
                .map(p -> !p.isAlive()).orElse(true));
        assertThat(d.get("/v1/status").json().path("memory").path("usedMb").asLong())
                .isLessThanOrEqualTo(budgetUsedBefore);
        assertThat(d.dataDir().resolve("functions/doomed")).doesNotExist();
        assertThat(d.dataDir().resolve("bundles/" + sha + ".zip")).doesNotExist();

        // Deployed again under the same name it starts afresh: version 1, no saved test events, and it serves.
        assertThat(d.deployOk(doomed("5")).path("version").asInt()).isEqualTo(1);
        assertThat(d.get("/v1/functions/doomed/test-events").json().path("testEvents")).isEmpty();
        TestDaemon.Response again = d.invoke("doomed", "{\"id\": \"reborn\"}");
        assertThat(again.status()).as(again.text()).isEqualTo(200);
        assertThat(again.text()).contains("reborn");
        assertThat(d.get("/v1/functions/doomed").json().path("environments").path(0).path("state").asText())
                .isEqualTo("IDLE");
        d.send("DELETE", "/v1/functions/doomed", null);
    }

    @Test
    void lambdasDeleteFunctionDeletesTheWholeFunctionAndRefusesOneVersion() throws Exception {
        d.deployOk(Bundles.withManifest(Bundles.example("echo"), dir, """
                {"name": "brief", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo"}"""));
        try (var lambda = d.lambda()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> lambda.deleteFunction(b -> b.functionName("brief")
                    .qualifier("1"))).hasMessageContaining("deleting one version is not supported");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> lambda.deleteFunction(b -> b.functionName(
                    "brief:1"))).hasMessageContaining("deleting one version is not supported");
            assertThat(d.get("/v1/functions/brief").status()).isEqualTo(200);
            assertThat(lambda.deleteFunction(b -> b.functionName("arn:aws:lambda:local:000000000000:function:brief"))
                    .sdkHttpResponse().statusCode()).isEqualTo(204);
            assertThat(d.get("/v1/functions/brief").status()).isEqualTo(404);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> lambda.deleteFunction(b -> b.functionName(
                    "brief"))).isInstanceOf(software.amazon.awssdk.services.lambda.model.ResourceNotFoundException
                    .class);
        }
        // Without the admin credential nothing is deleted.
        assertThat(d.anonymous("DELETE", "/v1/functions/nothing", null).status()).isIn(401, 403);
    }
}
