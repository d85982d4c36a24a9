package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** What happened shows in the logs and the status. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LogsAndStatusTest {
    @TempDir
    static Path dir;
    TestDaemon d;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), """
                logs:
                  retain-lines-per-function: 100
                """);
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("misbehave", "")));
    }

    @AfterAll
    void stop() {
        d.close();
    }

    @Test
    void logsHoldStartOutputEndAndReportOfEachInvocation() {
        TestDaemon.Response r = d.invoke("misbehave", "{\"logLines\":3}");
        String id = r.header("X-Amzn-RequestId").orElseThrow();
        // END and REPORT are stored just after the answer goes out (as Lambda writes them after the response).
        await().atMost(5, SECONDS).until(() -> linesOf(id).size() >= 6);
        List<String> lines = linesOf(id);
        assertThat(lines).hasSize(6);
        assertThat(lines.get(0)).isEqualTo("START RequestId: " + id + " Version: 1");
        assertThat(lines.subList(1, 4)).containsExactly("line 0", "line 1", "line 2");
        assertThat(lines.get(4)).isEqualTo("END RequestId: " + id);
        assertThat(lines.get(5)).startsWith("REPORT RequestId: " + id + "\tDuration: ");
        assertThat(r.logTail()).isEqualTo(String.join("\n", lines) + "\n");
    }

    @Test
    void sinceAndLimitPageThroughTheLog() {
        d.invoke("misbehave", "{\"logLines\":2}");
        Instant mark = Instant.now();
        String id = d.invoke("misbehave", "{\"logLines\":2}").header("X-Amzn-RequestId").orElseThrow();
        await().atMost(5, SECONDS).until(() -> linesOf(id).size() == 5);
        JsonNode page = d.get("/v1/functions/misbehave/logs?since=" + mark + "&limit=2").json();
        assertThat(page.get("events")).hasSize(2);
        assertThat(page.at("/events/0/requestId").asText()).isEqualTo(id);
        assertThat(page.at("/events/0/message").asText()).startsWith("START");
        JsonNode rest = d.get("/v1/functions/misbehave/logs?since=" + mark + "&after="
                + page.get("next").asLong()).json();
        assertThat(rest.get("events")).hasSize(3);
        assertThat(rest.at("/events/2/message").asText()).startsWith("REPORT");
        // the console's follow starts from the newest lines, oldest of them first
        JsonNode tail = d.get("/v1/functions/misbehave/logs?tail=2").json();
        assertThat(tail.get("events")).hasSize(2);
        assertThat(tail.at("/events/0/message").asText()).isEqualTo("END RequestId: " + id);
        assertThat(tail.at("/events/1/message").asText()).startsWith("REPORT RequestId: " + id);
        assertThat(d.get("/v1/functions/misbehave/logs?tail=2&after=1").status()).isEqualTo(400);
    }

    @Test
    void logsAreCappedPerFunctionOldestFirst() {
        String id = d.invoke("misbehave", "{\"logLines\":150}").header("X-Amzn-RequestId").orElseThrow();
        await().atMost(5, SECONDS).until(() -> d.get("/v1/functions/misbehave/logs?limit=10000").json()
                .get("events").findValuesAsText("message").stream().anyMatch(m -> m.equals("END RequestId: " + id)));
        JsonNode events = d.get("/v1/functions/misbehave/logs?limit=10000").json().get("events");
        // 100 kept, pruned each time 5 new lines have come: never more than 105, the oldest gone first.
        assertThat(events.size()).isBetween(100, 105);
        assertThat(events.get(events.size() - 1).get("message").asText()).startsWith("REPORT");
        assertThat(events.findValuesAsText("message")).doesNotContain("line 0").contains("line 149");
    }

    @Test
    void badLogQueriesAreExplained() {
        TestDaemon.Response since = d.get("/v1/functions/misbehave/logs?since=yesterday");
        assertThat(since.status()).isEqualTo(400);
        assertThat(since.json().get("message").asText()).contains("since 'yesterday'").contains("ISO-8601");
        TestDaemon.Response limit = d.get("/v1/functions/misbehave/logs?limit=0");
        assertThat(limit.status()).isEqualTo(400);
        assertThat(limit.json().get("message").asText()).contains("limit '0'").contains("1 to 10000");
        assertThat(d.get("/v1/functions/nope/logs").status()).isEqualTo(404);
    }

    @Test
    void anEnvironmentThatDiesStillClosesItsInvocationAndIsNeverShownReady() throws Exception {
        // Dying mid-invocation (exit, timeout): START, END and REPORT all reach the log.
        for (String event : new String[]{"{\"exit\": 3}", "{\"sleepMs\": 5000}"}) {
            String id = d.invoke("misbehave", event).header("X-Amzn-RequestId").orElseThrow();
            org.awaitility.Awaitility.await().atMost(10, java.util.concurrent.TimeUnit.SECONDS).untilAsserted(() ->
                    assertThat(d.get("/v1/functions/misbehave/logs?limit=10000").json().path("events")
                            .findValuesAsText("message")).as(event)
                            .anyMatch(m -> m.equals("START RequestId: " + id + " Version: 1"))
                            .anyMatch(m -> m.equals("END RequestId: " + id))
                            .anyMatch(m -> m.startsWith("REPORT RequestId: " + id)));
        }
        // Killed while idle: the pid shown is the function's JVM, it is never listed as IDLE once dead, and the next
        // call gets a new environment instead of the dead one.
        d.invoke("misbehave", "{}");
        boolean freezes = d.get("/v1/status").json().at("/isolation/mode").asText().equals("full");
        awaitFrozen(freezes); // else the freeze could come after the thaw below, with the kill still pending
        JsonNode env = d.get("/v1/status").json().get("environments").get(0);
        ProcessHandle jvm = ProcessHandle.of(env.get("pid").asLong()).orElseThrow();
        assertThat(jvm.info().command().orElse("")).endsWith("/java");
        jvm.destroyForcibly();
        thaw(jvm.pid()); // an idle environment is frozen: the kill lands once it runs again
        jvm.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        for (JsonNode e : d.get("/v1/status").json().get("environments")) {
            if (e.get("pid").asLong() == jvm.pid()) {
                assertThat(e.get("state").asText()).isNotEqualTo("IDLE");
            }
        }
        TestDaemon.Response next = d.invoke("misbehave", "{}", "X-Amz-Log-Type", "Tail");
        assertThat(next.header("X-Amz-Function-Error")).as(next.text()).isEmpty();
        assertThat(next.logTail()).contains("Init Duration");

        // Killed while frozen, as an operator's kill -9 finds an idle one: the signal waits until the next call
        // thaws it, and that call goes to a new environment instead of failing with "signal: killed".
        awaitFrozen(freezes);
        ProcessHandle frozen = ProcessHandle.of(d.get("/v1/status").json().get("environments").get(0).get("pid")
                .asLong()).orElseThrow();
        frozen.destroyForcibly();
        if (!freezes) {
            frozen.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        TestDaemon.Response after = d.invoke("misbehave", "{}", "X-Amz-Log-Type", "Tail");
        assertThat(after.header("X-Amz-Function-Error")).as(after.text()).isEmpty();
        assertThat(after.logTail()).contains("Init Duration");
        frozen.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** Waits until misbehave's one environment is frozen, where the daemon freezes (full isolation). */
    private void awaitFrozen(boolean freezes) {
        org.awaitility.Awaitility.await().atMost(5, java.util.concurrent.TimeUnit.SECONDS).until(() ->
                !freezes || d.get("/v1/functions/misbehave").json().at("/environments/0/frozen").asBoolean());
    }

    @Test
    void headersTooLargeForTheServerGetABodyThatSaysSo() throws IOException {
        java.net.URI base = java.net.URI.create(d.base());
        try (java.net.Socket s = new java.net.Socket(base.getHost(), base.getPort())) {
            s.getOutputStream().write(("GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000)
                    + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 4").contains("X-Amzn-ErrorType: ")
                    .contains("\"message\":\"the request could not be read").contains("headers of at most 16384");
        }
        assertThat(d.get("/v1/health").status()).isEqualTo(200);
    }

    @Test
    void connectionsThatSendNothingMoreOrNeverFinishTheirHeadersAreClosed() throws IOException {
        try (TestDaemon quick = TestDaemon.start(dir.resolve("idle"), "http:\n  idle-timeout-seconds: 2\n")) {
            java.net.URI base = java.net.URI.create(quick.base());
            // kept alive after an answer; half a request line; a request line and half the headers (slowloris);
            // nothing at all
            List<String> openings = List.of("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", "GET /v1/hea",
                    "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ", "");
            List<java.net.Socket> held = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 80; i++) {
                    java.net.Socket s = new java.net.Socket(base.getHost(), base.getPort());
                    s.setSoTimeout(15_000);
                    s.getOutputStream().write(openings.get(i % openings.size()).getBytes(
                            java.nio.charset.StandardCharsets.US_ASCII));
                    held.add(s);
                }
                long start = System.nanoTime();
                for (int i = 0; i < held.size(); i++) {
                    // closed by the daemon, well before this socket's own 15 s read timeout (which would throw)
                    String answer = new String(held.get(i).getInputStream().readAllBytes(),
                            java.nio.charset.StandardCharsets.US_ASCII);
                    if (i % openings.size() == 0) {
                        assertThat(answer).startsWith("HTTP/1.1 200");
                    } else {
                        assertThat(answer).as("what a connection opened with %s got",
                                openings.get(i % openings.size())).isEmpty();
                    }
                }
                assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).isLessThan(
                        java.time.Duration.ofSeconds(10));
            } finally {
                for (java.net.Socket s : held) {
                    s.close();
                }
            }
            assertThat(quick.get("/v1/health").status()).isEqualTo(200);
        }
    }

    /** Thaws the freezer cgroup a process is in (v1 freezer.state, v2 cgroup.freeze), if it is in one. */
    private static void thaw(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
            String[] f = line.split(":", 3);
            Path v1 = Path.of("/sys/fs/cgroup/freezer" + f[2], "freezer.state");
            Path v2 = Path.of("/sys/fs/cgroup" + f[2], "cgroup.freeze");
            if (f[1].equals("freezer") && Files.exists(v1)) {
                Files.writeString(v1, "THAWED");
            } else if (f[1].isEmpty() && Files.exists(v2)) {
                Files.writeString(v2, "0");
            }
        }
    }

    @Test
    void aRequestForNoRouteIsA404ThatNamesItNotAnInternalError() {
        TestDaemon.Response r = d.send("POST", "/v1/functions", new byte[]{1, 2, 3});
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.header("X-Amzn-ErrorType")).contains("ResourceNotFoundException");
        assertThat(r.json().path("message").asText()).contains("no route for POST /v1/functions")
                .contains("docs/operators.md");
        assertThat(d.send("GET", "/v1/nothing-here", null).status()).isEqualTo(404);
    }

    @Test
    void statusShowsEnvironmentsAndCounts() {
        d.invoke("misbehave", "{}");
        d.invoke("misbehave", "{\"throw\":\"x\"}");
        JsonNode status = d.get("/v1/status").json();
        assertThat(status.get("version").asText()).isNotBlank();
        assertThat(status.get("uptimeSeconds").asLong()).isGreaterThanOrEqualTo(0);
        // Full as root with cgroups, bubblewrap and setpriv (CI); degraded elsewhere, naming what is missing.
        String mode = status.at("/isolation/mode").asText();
        assertThat(mode).isIn("full", "degraded");
        assertThat(status.at("/isolation/missing").isEmpty()).isEqualTo(mode.equals("full"));
        assertThat(status.get("functions").toString()).contains("misbehave");
        JsonNode env = status.get("environments").get(0);
        assertThat(env.get("function").asText()).isEqualTo("misbehave");
        assertThat(env.get("state").asText()).isEqualTo("IDLE");
        assertThat(ProcessHandle.of(env.get("pid").asLong())).isPresent();
        assertThat(env.at("/memory/currentBytes").asLong()).isPositive();

        JsonNode fn = d.get("/v1/functions/misbehave").json();
        assertThat(fn.at("/aliases/live").asInt()).isEqualTo(1);
        assertThat(fn.at("/versions/0/config/handler").asText()).isEqualTo("dev.bramble.examples.misbehave.Misbehave");
        assertThat(fn.at("/versions/0/config/timeoutSeconds").asInt()).isEqualTo(2);
        assertThat(fn.at("/versions/0/sha256").asText()).hasSize(64);
        assertThat(fn.at("/counts/coldStarts").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(fn.at("/counts/warmStarts").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(fn.at("/counts/errors").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(fn.get("environments").get(0).get("invocations").asInt()).isGreaterThanOrEqualTo(2);

        assertThat(d.get("/v1/functions").json().at("/functions/0/name").asText()).isEqualTo("misbehave");
        assertThat(d.get("/v1/health").json().get("status").asText()).isEqualTo("ok");
    }

    @Test
    void testEventsAreSavedReplacedAndDeletedAndBadOnesAreExplained() {
        byte[] event = "{\"logLines\": 1}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(d.send("PUT", "/v1/functions/misbehave/test-events/one-line", event).status()).isEqualTo(201);
        assertThat(d.send("PUT", "/v1/functions/misbehave/test-events/one-line", event).status()).isEqualTo(200);
        JsonNode listed = d.get("/v1/functions/misbehave/test-events").json();
        assertThat(listed.get("max").asInt()).isEqualTo(10);
        assertThat(listed.at("/testEvents/0/name").asText()).isEqualTo("one-line");
        assertThat(listed.at("/testEvents/0/event/logLines").asInt()).isEqualTo(1);

        TestDaemon.Response name = d.send("PUT", "/v1/functions/misbehave/test-events/" + "x".repeat(26), event);
        assertThat(name.status()).isEqualTo(400);
        assertThat(name.json().get("message").asText()).contains("is not allowed").contains("1 to 25 letters");
        TestDaemon.Response notJson = d.send("PUT", "/v1/functions/misbehave/test-events/bad", "{oops".getBytes(
                java.nio.charset.StandardCharsets.UTF_8));
        assertThat(notJson.status()).isEqualTo(400);
        assertThat(notJson.json().get("message").asText()).contains("test event bad is not JSON");
        assertThat(d.send("PUT", "/v1/functions/misbehave/test-events/empty", new byte[0]).status()).isEqualTo(400);
        TestDaemon.Response big = d.send("PUT", "/v1/functions/misbehave/test-events/big",
                ("\"" + "a".repeat(256 * 1024) + "\"").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat(big.status()).isEqualTo(413);
        assertThat(d.send("PUT", "/v1/functions/nope/test-events/x", event).status()).isEqualTo(404);
        for (int i = 0; i < 9; i++) {
            assertThat(d.send("PUT", "/v1/functions/misbehave/test-events/e" + i, event).status()).isEqualTo(201);
        }
        TestDaemon.Response full = d.send("PUT", "/v1/functions/misbehave/test-events/eleventh", event);
        assertThat(full.status()).isEqualTo(400);
        assertThat(full.json().get("message").asText()).contains("already has 10");
        // nothing refused was stored, and what was stored is whole
        assertThat(d.get("/v1/functions/misbehave/test-events").json().get("testEvents")).hasSize(10)
                .allSatisfy(e -> assertThat(e.at("/event/logLines").asInt()).isEqualTo(1));
        for (int i = 0; i < 9; i++) {
            assertThat(d.send("DELETE", "/v1/functions/misbehave/test-events/e" + i, null).status()).isEqualTo(200);
        }
        assertThat(d.send("DELETE", "/v1/functions/misbehave/test-events/e0", null).status()).isEqualTo(404);
        assertThat(d.get("/v1/functions/misbehave/test-events").json().get("testEvents")).hasSize(1);
    }

    @Test
    void theHourOfMetricsCountsInvocationsErrorsAndColdStarts() {
        JsonNode before = d.get("/v1/metrics/history?function=misbehave").json().at("/functions/misbehave/hour");
        d.send("DELETE", "/v1/functions/misbehave/environments", null);
        d.invoke("misbehave", "{}"); // cold
        d.invoke("misbehave", "{\"throw\":\"x\"}");
        JsonNode history = d.get("/v1/metrics/history?function=misbehave").json();
        JsonNode hour = history.at("/functions/misbehave/hour");
        assertThat(hour.get("invocations").asLong() - before.path("invocations").asLong()).isEqualTo(2);
        assertThat(hour.get("errors").asLong() - before.path("errors").asLong()).isEqualTo(1);
        assertThat(hour.get("coldStarts").asLong() - before.path("coldStarts").asLong()).isEqualTo(1);
        assertThat(hour.get("p50Ms").asDouble()).isPositive();
        assertThat(history.at("/functions/misbehave/invocations")).hasSize(60);
        assertThat(history.at("/total/hour/invocations").asLong()).isEqualTo(hour.get("invocations").asLong());
        TestDaemon.Response unknown = d.get("/v1/metrics/history?function=nope");
        assertThat(unknown.status()).isEqualTo(404);
    }

    @Test
    void idleEnvironmentsCanBeRecycledAndTheNextCallColdStarts() {
        d.invoke("misbehave", "{}");
        TestDaemon.Response r = d.send("DELETE", "/v1/functions/misbehave/environments", null);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("stopped").asInt()).isEqualTo(1);
        assertThat(d.get("/v1/functions/misbehave").json().get("environments")).isEmpty();
        assertThat(d.invoke("misbehave", "{}").logTail()).contains("Init Duration");
        assertThat(d.send("DELETE", "/v1/functions/nope/environments", null).status()).isEqualTo(404);
    }

    private List<String> linesOf(String requestId) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : d.get("/v1/functions/misbehave/logs?limit=10000").json().get("events")) {
            if (requestId.equals(e.path("requestId").asText())) {
                out.add(e.get("message").asText());
            }
        }
        return out;
    }
}
