package dev.bramble.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bramble.protocol.TelemetryBatch;
import dev.bramble.protocol.TelemetryEntry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;

import static dev.bramble.bench.Bench.fmt;

/**
 * The sync agent's rows: upload throughput once the deployer comes back to a backlog, against the deployer's own
 * ingest of the same lines posted straight to it; and the outbox's cost on the invoke path, as the warm-invoke p50
 * of the same daemon configuration with sync running and with sync off.
 */
final class TelemetryBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BACKLOG_INVOCATIONS = 20;
    private static final int LINES_PER_INVOCATION = 5_000;
    private static final String NOOP = "/2015-03-31/functions/noop/invocations";

    private final Bench bench;

    TelemetryBench(Bench bench) {
        this.bench = bench;
    }

    List<Bench.Row> run() throws Exception {
        List<Bench.Row> rows = new ArrayList<>();
        Path config = bench.deployerConfig("telemetry-deployer");
        String base = Bench.deployerBase(config);
        Process deployer = bench.startDeployer(config);
        Fleet fleet = new Fleet(base, Bench.DEPLOYER_ADMIN);
        Path keys = Files.createDirectories(bench.work().resolve("telemetry-keys"));
        Daemon withSync = null;
        Daemon withoutSync = null;
        try {
            // One daemon at a time: daemons on one machine share the bench's cgroup subtree.
            withoutSync = daemon(fleet, base, keys, "without-sync", "  enabled: false\n");
            double off = warmP50(withoutSync);
            withoutSync.stop();
            withoutSync = null;
            withSync = daemon(fleet, base, keys, "with-sync", "");
            double on = warmP50(withSync);
            rows.add(new Bench.Row("warm invoke, noop, p50 with sync running (START/END/REPORT into the outbox, "
                    + "uploaded every 200 ms)", fmt(on) + " µs", "same daemon, sync.enabled false: " + fmt(off) + " µs",
                    fmt(on / off) + "× (" + (on >= off ? "+" : "") + fmt(on - off) + " µs)", "—", "—"));

            // A backlog: the deployer goes away while misbehave writes 100,000 lines.
            deployer.destroy();
            deployer.waitFor(10, TimeUnit.SECONDS);
            withSync.deploy(bench.withManifest(bench.bundle("misbehave"), "chatty",
                    "dev.bramble.examples.misbehave.Misbehave", ""));
            for (int i = 0; i < BACKLOG_INVOCATIONS; i++) {
                withSync.invoke("chatty", "{\"logLines\": " + LINES_PER_INVOCATION + ", \"logPrefix\": \"b" + i
                        + "\"}");
            }
            Daemon d = withSync;
            long backlog = awaitValue(() -> sync(d).path("backlog").path("queued").asLong() == 0
                    ? sync(d).path("backlog").path("entries").asLong() : -1);
            deployer = bench.startDeployer(config);
            // From the first acknowledgement (not the end of a backoff wait) to the last.
            long first = awaitValue(() -> sync(d).path("ackedSeq").asLong() > 0 ? System.nanoTime() : -1);
            long sentFirst = backlog - sync(d).path("backlog").path("entries").asLong();
            awaitValue(() -> sync(d).path("backlog").path("entries").asLong() == 0 ? 1 : -1);
            double seconds = (System.nanoTime() - first) / 1e9;
            double device = (backlog - sentFirst) / seconds;
            // The floor on a deployer just as fresh: restarted, then fed the same lines by one client.
            deployer.destroy();
            deployer.waitFor(10, TimeUnit.SECONDS);
            deployer = bench.startDeployer(config);
            double floor = directIngest(fleet, base, (int) backlog);
            rows.add(new Bench.Row("upload after an outage: " + backlog + " entries backlogged → all acknowledged "
                    + "(batches of 2,000, gzip; from the first acknowledgement)", fmt(device) + " lines/s",
                    "the deployer's own ingest, same lines posted straight to it: " + fmt(floor) + " lines/s",
                    fmt(device / floor) + "×", "—", "—"));
        } finally {
            for (Daemon d : new Daemon[]{withSync, withoutSync}) {
                if (d != null) {
                    d.stop();
                }
            }
            deployer.destroy();
            deployer.waitFor(10, TimeUnit.SECONDS);
        }
        return rows;
    }

    private Daemon daemon(Fleet fleet, String base, Path keys, String name, String sync) throws Exception {
        String token = fleet.post("/v1/enrolment-tokens", "{}").path("token").asText();
        Daemon d = Daemon.start(bench, bench.work().resolve(name), "agent:\n  deployer-url: " + base
                + "\n  enrolment-token: " + token + "\n  device-name: " + name + "\n  trusted-keys: " + keys
                + "\nsync:\n  batch-max-age-ms: 200\n  backoff-min-ms: 100\n  backoff-max-ms: 500\n" + sync);
        awaitValue(() -> status(d).path("agent").path("deviceId").asText().isEmpty() ? -1 : 1);
        d.deploy(bench.withManifest(bench.bundle("shapes"), "noop", "NoopHandler", ""));
        d.invoke("noop", Bench.NOOP_EVENT);
        return d;
    }

    private double warmP50(Daemon d) throws Exception {
        Measure.wrk(d.base() + NOOP, "POST", Bench.NOOP_EVENT, 1, 1, 2, bench.work()); // warm-up
        return Measure.wrk(d.base() + NOOP, "POST", Bench.NOOP_EVENT, 1, 1, Bench.WRK_SECONDS, bench.work()).p50us();
    }

    /** The same number of log lines, in batches of 2,000, gzip, posted by one client as a device would. */
    private static double directIngest(Fleet fleet, String base, int lines) throws Exception {
        String token = fleet.post("/v1/enrolment-tokens", "{}").path("token").asText();
        JsonNode device = JSON.readTree(Measure.send("POST", base + "/v1/enrol", JSON.writeValueAsBytes(Map.of(
                "token", token, "name", "direct"))).body());
        String outbox = UUID.randomUUID().toString();
        long seq = 0;
        long t0 = System.nanoTime();
        while (seq < lines) {
            List<TelemetryEntry> entries = new ArrayList<>();
            for (int i = 0; i < 2_000 && seq < lines; i++) {
                seq++;
                entries.add(TelemetryEntry.log("chatty", System.currentTimeMillis(), "2026/11/22/[1]0123456789abcdef",
                        "5f1a7c2e-0000-4000-8000-00000000" + (seq % 10_000), "b" + seq / LINES_PER_INVOCATION
                                + " line " + seq % LINES_PER_INVOCATION).withSeq(seq));
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
                JSON.writeValue(gz, new TelemetryBatch(outbox, entries));
            }
            HttpResponse<String> r = Measure.HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/devices/"
                            + device.path("deviceId").asText() + "/telemetry"))
                    .header("Authorization", "Bearer " + device.path("deviceToken").asText())
                    .header("Content-Type", "application/json").header("Content-Encoding", "gzip")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray())).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException("telemetry refused: " + r.statusCode() + " " + r.body());
            }
        }
        return lines / ((System.nanoTime() - t0) / 1e9);
    }

    private static JsonNode status(Daemon d) throws IOException {
        return JSON.readTree(d.admin("GET", "/v1/status", null).body());
    }

    private static JsonNode sync(Daemon d) throws IOException {
        return status(d).path("sync");
    }

    private interface Probe {
        long value() throws Exception;
    }

    /** Polls every 20 ms until the probe gives a value of 0 or more; gives up after two minutes. */
    private static long awaitValue(Probe probe) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            long v = probe.value();
            if (v >= 0) {
                return v;
            }
            Thread.sleep(20);
        }
        throw new IOException("timed out waiting for the daemon");
    }
}
