package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code X-Amz-Invocation-Type: Event}: the durable queue, retries with backoff, event age and dead letters. */
class AsyncInvocationTest {
    @TempDir
    Path tmp;

    private static TestDaemon.Response event(TestDaemon d, String function, String json, String... headers) {
        String[] all = new String[headers.length + 2];
        all[0] = "X-Amz-Invocation-Type";
        all[1] = "Event";
        System.arraycopy(headers, 0, all, 2, headers.length);
        return d.send("POST", "/2015-03-31/functions/" + function + "/invocations",
                json.getBytes(StandardCharsets.UTF_8), all);
    }

    private static JsonNode deadLetters(TestDaemon d, String function) {
        return d.get("/v1/dead-letters?function=" + function).json().path("deadLetters");
    }

    @Test
    void anEventIsAcceptedWith202AndRetriedWithBackoffUnderOneRequestIdUntilItIsADeadLetter() {
        try (TestDaemon d = TestDaemon.start(tmp.resolve("data"), """
                async:
                  retry-base-ms: 200
                """)) {
            d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), tmp, Bundles.misbehave("flaky", "")));
            TestDaemon.Response r = event(d, "flaky", "{\"throw\": \"sensor offline\"}");
            assertThat(r.status()).isEqualTo(202);
            assertThat(r.body()).isEmpty();
            String requestId = r.header("X-Amzn-RequestId").orElseThrow();

            await().atMost(20, SECONDS).until(() -> deadLetters(d, "flaky").size() == 1);
            JsonNode letter = deadLetters(d, "flaky").get(0);
            assertThat(letter.path("requestId").asText()).isEqualTo(requestId);
            assertThat(letter.path("reason").asText()).isEqualTo("RetriesExhausted");
            assertThat(letter.path("attempts").asInt()).isEqualTo(3); // Lambda's default: two retries
            assertThat(letter.path("source").asText()).isEqualTo("invoke");
            assertThat(letter.path("event").path("throw").asText()).isEqualTo("sensor offline");
            assertThat(letter.path("error").path("errorMessage").asText()).isEqualTo("sensor offline");

            List<Long> starts = new ArrayList<>();
            await().atMost(5, SECONDS).until(() -> {
                starts.clear();
                for (JsonNode e : d.get("/v1/functions/flaky/logs?limit=1000").json().path("events")) {
                    if (e.path("message").asText().equals("START RequestId: " + requestId + " Version: 1")) {
                        starts.add(Instant.parse(e.path("time").asText()).toEpochMilli());
                    }
                }
                return starts.size() == 3;
            });
            // Base 200 ms ±20 %, then twice that: the two waits cannot overlap.
            long first = starts.get(1) - starts.get(0);
            long second = starts.get(2) - starts.get(1);
            assertThat(first).isBetween(160L, 2_000L);
            assertThat(second).isGreaterThanOrEqualTo(320L).isGreaterThan(first);
            JsonNode async = d.get("/v1/status").json().path("async");
            assertThat(async.path("depth").asInt()).isZero();
            assertThat(async.path("retried").asInt()).isEqualTo(2);
            assertThat(async.path("deadLettered").asInt()).isEqualTo(1);
            assertThat(async.path("deadLetters").asInt()).isEqualTo(1);
        }
    }

    @Test
    void anEventOlderThanItsMaximumAgeIsNotTriedAgain() {
        TestClock clock = TestClock.ticking();
        try (TestDaemon d = TestDaemon.start(tmp.resolve("data"), """
                async:
                  retry-base-ms: 30000
                """, clock)) {
            d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), tmp, Bundles.misbehave("aging",
                    "\"async\": {\"maxRetries\": 2, \"maxEventAgeSeconds\": 60}")));
            assertThat(event(d, "aging", "{\"throw\": \"not yet\"}").status()).isEqualTo(202);
            await().atMost(20, SECONDS).until(() -> d.get("/v1/status").json().path("async").path("retried")
                    .asInt() == 1);
            assertThat(deadLetters(d, "aging")).isEmpty();

            clock.advance(Duration.ofSeconds(61)); // the retry falls due, but the event is too old by then

            await().atMost(10, SECONDS).until(() -> deadLetters(d, "aging").size() == 1);
            JsonNode letter = deadLetters(d, "aging").get(0);
            assertThat(letter.path("reason").asText()).isEqualTo("EventAgeExceeded");
            assertThat(letter.path("attempts").asInt()).isEqualTo(1);
            assertThat(letter.path("error").path("errorMessage").asText()).isEqualTo("not yet");
        }
    }

    @Test
    void aFullQueueRefusesWith429AndBadEventsAreRefusedAtOnce() {
        try (TestDaemon d = TestDaemon.start(tmp.resolve("data"), """
                async:
                  max-depth: 2
                  workers: 1
                """)) {
            d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), tmp, Bundles.misbehave("slow",
                    "\"timeoutSeconds\": 30")));
            assertThat(event(d, "slow", "{\"sleepMs\": 3000}").status()).isEqualTo(202);
            assertThat(event(d, "slow", "{\"sleepMs\": 10}").status()).isEqualTo(202);
            TestDaemon.Response full = event(d, "slow", "{}");
            assertThat(full.status()).isEqualTo(429);
            assertThat(full.header("X-Amzn-ErrorType")).contains("TooManyRequestsException");
            assertThat(full.json().path("message").asText()).contains("async.max-depth");

            assertThat(event(d, "nope", "{}").status()).isEqualTo(404);
            assertThat(event(d, "slow", "{not json").status()).isEqualTo(400);
            assertThat(event(d, "slow", "{}", "X-Amz-Log-Type", "Tail").json().path("message").asText())
                    .contains("only allowed with RequestResponse");
            String big = "{\"x\": \"" + "a".repeat(1024 * 1024) + "\"}";
            assertThat(event(d, "slow", big).status()).isEqualTo(413);
            await().atMost(20, SECONDS).until(() -> d.get("/v1/status").json().path("async").path("depth")
                    .asInt() == 0);
            assertThat(d.get("/v1/status").json().path("async").path("rejected").asInt()).isEqualTo(1);
        }
    }
}
