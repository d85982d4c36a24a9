package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bramble.deployer.Deployer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The outage test, end to end: a real deployer and brambled as its own process. With the deployer down,
 * {@code misbehave} writes over 100,000 log lines across three functions; the daemon is killed with SIGKILL in the
 * middle and restarted; then the deployer comes back. Every line the outbox had committed arrives exactly once, in
 * order per function; what a SIGKILL can lose is only each function's uncommitted tail at that instant.
 */
class TelemetryOutageTest {
    private static final String ADMIN = "admin-token-for-outage-tests-0123456789";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final List<String> FUNCTIONS = List.of("m1", "m2", "m3");
    private static final int INVOCATIONS = 24;
    private static final int LINES = 1_700;
    private static final Pattern LINE = Pattern.compile("(m\\d)-(\\d+) line (\\d+)");
    private static DaemonProcess.Install install;

    @TempDir
    Path dir;

    @BeforeAll
    static void copyInstall() throws IOException {
        install = DaemonProcess.Install.inTmp();
    }

    /** The deployer again on its port, which another server may hold for a moment: retried, not failed. */
    private static Deployer restart(Path config) throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                return Deployer.start(config);
            } catch (IllegalStateException taken) {
                if (attempt >= 20 || !String.valueOf(taken.getMessage()).contains("cannot listen")) {
                    throw taken;
                }
                Thread.sleep(250);
            }
        }
    }

    @Test
    void everyCommittedLineArrivesOnceInOrderAfterAnOutageAndAKillNine() throws Exception {
        // The deployer picks its port; it comes back on the same one after the outage.
        Path deployerConfig = dir.resolve("deployer.yaml");
        Files.writeString(deployerConfig, "data-dir: " + dir.resolve("deployer") + "\nhttp:\n  port: 0"
                + "\nadmin:\n  token: " + ADMIN + "\n");
        Deployer deployer = Deployer.start(deployerConfig);
        int port = deployer.port();
        Files.writeString(deployerConfig, "data-dir: " + dir.resolve("deployer") + "\nhttp:\n  port: " + port
                + "\nadmin:\n  token: " + ADMIN + "\n");
        String token = call("POST", port, "/v1/enrolment-tokens", "{\"uses\": 1}").path("token").asText();
        Path data = install.root().resolve("outage-data-" + port);
        String yaml = """
                agent:
                  deployer-url: http://127.0.0.1:%d
                  enrolment-token: %s
                  device-name: outage
                  trusted-keys: %s
                  poll-wait-seconds: 2
                sync:
                  batch-max-age-ms: 200
                  backoff-min-ms: 100
                  backoff-max-ms: 1000
                  metrics-interval-seconds: 0
                pool:
                  max-environments-per-function: 1
                runtime:
                  class-data-archives: false
                sandbox:
                  cgroup-name: bramble-outage-%d
                """.formatted(port, token, Files.createDirectories(dir.resolve("keys")), ProcessHandle.current().pid());

        Map<String, Integer> completedBeforeKill = new HashMap<>();
        Map<String, Integer> firstAfterRestart = new HashMap<>();
        Map<String, Long> committedAtKill;
        String deviceId;
        try (DaemonProcess first = DaemonProcess.start(install, data, yaml, List.of(), false)) {
            await("enrolled").atMost(30, SECONDS).until(() -> !first.status().path("agent").path("deviceId").asText()
                    .isEmpty());
            deviceId = first.status().path("agent").path("deviceId").asText();
            deployer.close(); // the outage begins
            for (String f : FUNCTIONS) {
                HttpResponse<String> r = first.post("/v1/deployments", Files.readAllBytes(Bundles.withManifest(
                        Bundles.example("misbehave"), dir, Bundles.misbehave(f, "\"timeoutSeconds\": 60"))));
                assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
            }
            // Three writers meet once each has finished half of its invocations, go on together, and the daemon is
            // killed as soon as one of them has finished one more: every function has invocations in flight.
            Map<String, AtomicInteger> done = new ConcurrentHashMap<>();
            CountDownLatch half = new CountDownLatch(FUNCTIONS.size());
            CountDownLatch go = new CountDownLatch(1);
            CountDownLatch onePast = new CountDownLatch(1);
            List<Thread> writers = new ArrayList<>();
            for (String f : FUNCTIONS) {
                AtomicInteger n = new AtomicInteger();
                done.put(f, n);
                writers.add(Thread.ofVirtual().start(() -> {
                    for (int k = 0; k < INVOCATIONS; k++) {
                        try {
                            invoke(first, f, k);
                        } catch (IOException | RuntimeException e) {
                            return; // the daemon died under this call
                        }
                        n.incrementAndGet();
                        if (k == INVOCATIONS / 2 - 1) {
                            half.countDown();
                            try {
                                go.await();
                            } catch (InterruptedException e) {
                                return;
                            }
                        } else if (k == INVOCATIONS / 2) {
                            onePast.countDown();
                        }
                    }
                }));
            }
            assertThat(half.await(120, SECONDS)).isTrue();
            go.countDown();
            assertThat(onePast.await(60, SECONDS)).isTrue();
            first.process().toHandle().destroyForcibly(); // SIGKILL, with invocations in flight
            assertThat(first.process().waitFor(30, SECONDS)).isTrue();
            for (Thread t : writers) {
                t.join(Duration.ofSeconds(30));
            }
            done.forEach((f, n) -> completedBeforeKill.put(f, n.get()));
            committedAtKill = committedLines(data.resolve("outbox.db"));
        }
        assertThat(completedBeforeKill.values()).allMatch(n -> n >= INVOCATIONS / 2 && n < INVOCATIONS);

        // Restarted, still offline: the rest of the invocations (the one cut by the kill is not sent again).
        try (DaemonProcess second = DaemonProcess.start(install, data, yaml, List.of(), false)) {
            for (String f : FUNCTIONS) {
                firstAfterRestart.put(f, completedBeforeKill.get(f) + 1);
                for (int k = completedBeforeKill.get(f) + 1; k < INVOCATIONS; k++) {
                    invoke(second, f, k);
                }
            }
            await("the outbox to hold every line").atMost(60, SECONDS).until(() -> second.status().path("sync")
                    .path("backlog").path("queued").asLong() == 0);
            JsonNode sync = second.status().path("sync");
            assertThat(sync.path("link").asText()).isEqualTo("offline");
            assertThat(sync.path("lastError").path("code").asText()).isEqualTo("UNREACHABLE");

            // The deployer comes back.
            long back = System.nanoTime();
            deployer = restart(deployerConfig);
            int expected = expectedCount(committedAtKill, completedBeforeKill, firstAfterRestart);
            String device = deviceId;
            // Everything the outbox holds acknowledged by the deployer: what it has now is all it will get.
            await("the device to see its backlog acknowledged").atMost(120, SECONDS).pollInterval(
                    Duration.ofMillis(200)).until(() -> {
                        JsonNode backlog = second.status().path("sync").path("backlog");
                        return backlog.path("entries").asLong() == 0 && backlog.path("queued").asLong() == 0;
                    });
            long deliveredMs = (System.nanoTime() - back) / 1_000_000;

            int total = 0;
            int lost = 0;
            int written = 0;
            long droppedLines = 0;
            for (String f : FUNCTIONS) {
                List<int[]> got = logs(port, device, f);
                // Exactly once and in order. Before the kill: a prefix of what was written (invocations 0..c, the
                // last cut by the kill), exactly as long as what the outbox had committed. After the restart: every
                // line of invocations c+1.. in order. A line may be missing only where a gap record stands that
                // counts it (the outbox's queue full for 100 ms, which a loaded machine can cause), and at the kill.
                int c = completedBeforeKill.get(f);
                int resumed = firstAfterRestart.get(f);
                long gapSinceLast = 0;
                int previous = -1; // the index (invocation * LINES + line) of the last line seen
                int arrived = 0;
                int arrivedBefore = 0;
                for (int[] l : got) {
                    if (l[0] < 0) {
                        gapSinceLast += l[1];
                        continue;
                    }
                    int index = l[0] * LINES + l[1];
                    int expectedIndex = previous + 1;
                    if (previous / LINES <= c && l[0] >= resumed && previous >= 0) {
                        expectedIndex = resumed * LINES; // the SIGKILL's loss: the tail of invocations 0..c
                    } else if (previous < 0 && l[0] >= resumed) {
                        expectedIndex = resumed * LINES;
                    }
                    assertThat(index).as(f + " line %s after %d (%d dropped in gap records since)",
                            java.util.Arrays.toString(l), previous, gapSinceLast).isGreaterThanOrEqualTo(expectedIndex);
                    long missing = index - expectedIndex;
                    assertThat(missing).as(f + " lines missing before %s with gap records counting %d",
                            java.util.Arrays.toString(l), gapSinceLast).isLessThanOrEqualTo(gapSinceLast);
                    droppedLines += missing;
                    gapSinceLast = 0;
                    previous = index;
                    arrived++;
                    if (l[0] <= c) {
                        arrivedBefore++;
                    }
                }
                assertThat((long) arrivedBefore).as(f + " lines from before the kill").isEqualTo(
                        committedAtKill.get(f));
                long tail = INVOCATIONS * LINES - 1 - previous;
                assertThat(tail).as(f + " lines missing at the end").isLessThanOrEqualTo(gapSinceLast);
                droppedLines += tail;
                int writtenBefore = completedBeforeKill.get(f) * LINES;
                lost += Math.max(0, writtenBefore - Math.min(arrivedBefore, writtenBefore));
                written += writtenBefore + (INVOCATIONS - resumed) * LINES;
                total += arrived;
            }
            System.out.printf("outage test: completed before the kill %s, committed then %s, written %d, arrived %d, "
                    + "dropped with gap records %d%n", completedBeforeKill, committedAtKill, written, total,
                    droppedLines);
            assertThat(written).isGreaterThanOrEqualTo(100_000);
            assertThat(total).isGreaterThanOrEqualTo(expected - (int) droppedLines);
            // What the SIGKILL took, no more: the outbox's memory queue and the batch its writer had in hand, and per
            // killed child its pipe (64 KB) and the daemon's two read buffers (16 KB), in lines of 12 bytes or more.
            assertThat(lost).isLessThanOrEqualTo(8_192 + 4_096 + FUNCTIONS.size() * ((65_536 + 16_384) / 12));
            System.out.printf("outage test: %d of %d lines written over 3 functions delivered %d ms after the deployer "
                    + "came back; %d lines of completed invocations were not yet committed at the SIGKILL%n",
                    total, written, deliveredMs, lost);
        } finally {
            deployer.close();
        }
    }

    private static void invoke(DaemonProcess d, String function, int k) throws IOException {
        String body = "{\"logLines\": " + LINES + ", \"logPrefix\": \"" + function + "-" + k + "\"}";
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(d.base()
                            + "/2015-03-31/functions/" + function + "/invocations")).timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200 || r.headers().firstValue("X-Amz-Function-Error").isPresent()) {
                throw new IOException(function + " #" + k + ": " + r.statusCode() + " " + r.body());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    /** The function lines (not START/END/REPORT) in the outbox file, by function. */
    private static Map<String, Long> committedLines(Path outbox) throws Exception {
        Map<String, Long> out = new HashMap<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + outbox);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT stream, COUNT(*) FROM entries WHERE body LIKE stream || '-% line %' "
                     + "GROUP BY stream")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getLong(2));
            }
        }
        return out;
    }

    private static int expectedCount(Map<String, Long> committed, Map<String, Integer> completed,
                                     Map<String, Integer> firstAfter) {
        int n = 0;
        for (String f : FUNCTIONS) {
            n += committed.getOrDefault(f, 0L).intValue() + (INVOCATIONS - firstAfter.get(f)) * LINES;
        }
        return n;
    }

    /**
     * A function's lines at the deployer as (invocation, line), in the deployer's order; a gap record as
     * (-1, entries it counts).
     */
    private static List<int[]> logs(int port, String device, String function) {
        List<int[]> out = new ArrayList<>();
        long after = 0;
        while (true) {
            JsonNode page = call("GET", port, "/v1/devices/" + device + "/logs?function=" + function
                    + "&limit=10000&after=" + after, null);
            if (page.path("lines").isEmpty()) {
                return out;
            }
            for (JsonNode l : page.path("lines")) {
                if (l.path("dropped").asLong() > 0) {
                    out.add(new int[]{-1, (int) l.path("dropped").asLong()}); // a gap record
                    continue;
                }
                Matcher m = LINE.matcher(l.path("message").asText());
                if (m.matches()) {
                    out.add(new int[]{Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))});
                }
            }
            after = page.path("next").asLong();
        }
    }



    private static JsonNode call(String method, int port, String path, String json) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .header("Authorization", "Bearer " + ADMIN).method(method, json == null
                            ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isBetween(200, 299);
            return TestDaemon.JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
