package dev.bramble.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A fleet at scale on stock engines: PostgreSQL, three bramble-deployer replicas (from dist/bin) and HAProxy in
 * front of them, and thousands of simulated devices in this JVM, each a virtual thread speaking the real device
 * protocol (enrolment, long-poll, download by range with digest check, report, telemetry) with no child JVMs.
 * Measures a rollout to all of them, from the deploy request to the last success report, and the same rollout
 * with one replica killed halfway, which must complete with every device counted once. Bounded: every wait has a
 * deadline and the harness stops what it started.
 */
final class FleetScale {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ADMIN = Bench.DEPLOYER_ADMIN;
    /** The HAProxy configuration the deployer ships (the bench runs from the checkout's root, as bench/run does). */
    private static final Path SHIPPED_HAPROXY = Path.of("packaging/deployer/haproxy.cfg");
    private static final Duration DEADLINE = Duration.ofMinutes(Long.getLong("bramble.bench.scale.minutes", 12));

    private final Bench bench;
    private final Path work;
    private final int devices = Integer.getInteger("bramble.bench.devices", 10_000);
    private final long until = System.nanoTime() + DEADLINE.toNanos();
    private final List<Process> started = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
    private volatile boolean stopping;

    FleetScale(Bench bench, Path work) {
        this.bench = bench;
        this.work = work;
    }

    /** One simulated device's view of a rollout. */
    private record Landed(long downloadStartNanos, long fetchedNanos, long reportedNanos, long uploadedNanos) {
    }

    private final class Device {
        final String id;
        final String token;
        long revision = -1;
        final ConcurrentHashMap<String, Landed> landed = new ConcurrentHashMap<>();
        final AtomicInteger installs = new AtomicInteger();

        Device(String id, String token) {
            this.id = id;
            this.token = token;
        }

        void follow(String base) {
            long backoff = 200;
            while (!stopping) {
                try {
                    JsonNode desired = get(base + "/v1/devices/" + id + "/desired?after=" + revision + "&wait=30");
                    for (JsonNode f : desired.path("functions")) {
                        String deployment = f.path("deployment").asText("");
                        if (!deployment.isEmpty() && !landed.containsKey(deployment)) {
                            long start = System.nanoTime();
                            fetch(base, f.path("url").asText(), f.path("sha256").asText(), f.path("size").asInt());
                            installs.incrementAndGet();
                            long fetched = System.nanoTime();
                            send("POST", base + "/v1/devices/" + id + "/reports", "{\"deployment\":\"" + deployment
                                    + "\",\"state\":\"succeeded\"}", 200);
                            long reported = System.nanoTime();
                            send("POST", base + "/v1/devices/" + id + "/telemetry", JSON.writeValueAsString(
                                    new dev.bramble.protocol.TelemetryBatch("sim-" + id, List.of(
                                            dev.bramble.protocol.TelemetryEntry.metrics(System.currentTimeMillis(),
                                                    "{\"daemon\":{},\"functions\":{\"sim\":{\"invocations\":"
                                                            + landed.size() + "}}}").withSeq(landed.size() + 1L)))),
                                    200);
                            landed.put(deployment, new Landed(start, fetched, reported, System.nanoTime()));
                        }
                    }
                    revision = desired.path("revision").asLong();
                    backoff = 200;
                } catch (IOException e) {
                    // a replica went away mid-request, or the load balancer is between health checks: ask again
                    sleep(backoff + java.util.concurrent.ThreadLocalRandom.current().nextLong(backoff));
                    backoff = Math.min(backoff * 2, 3_000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        /** The bundle in two ranges, as a device resuming a download asks for it, checked against its digest. */
        void fetch(String base, String url, String sha, int size) throws IOException, InterruptedException {
            MessageDigest md;
            try {
                md = MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            int half = size / 2;
            for (String range : new String[]{"bytes=0-" + (half - 1), "bytes=" + half + "-"}) {
                HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + url))
                        .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + token)
                        .header("Range", range).build(), HttpResponse.BodyHandlers.ofByteArray());
                if (r.statusCode() != 206) {
                    throw new IOException("GET " + url + " " + range + " answered " + r.statusCode());
                }
                md.update(r.body());
            }
            if (!HexFormat.of().formatHex(md.digest()).equals(sha)) {
                failure("device " + id + ": the bundle's digest is not " + sha);
                throw new IllegalStateException("device " + id + ": the bundle's digest is not " + sha);
            }
        }

        JsonNode get(String url) throws IOException, InterruptedException {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(45))
                    .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException("GET " + url + " answered " + r.statusCode());
            }
            return JSON.readTree(r.body());
        }

        void send(String method, String url, String body, int expect) throws IOException, InterruptedException {
            // a report or an upload that fails is sent again, as the agent does, until the deadline
            for (long backoff = 200; ; backoff = Math.min(backoff * 2, 3_000)) {
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url))
                            .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + token)
                            .header("Content-Type", "application/json")
                            .method(method, HttpRequest.BodyPublishers.ofString(body)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == expect) {
                        return;
                    }
                    if (r.statusCode() / 100 == 4) {
                        failure(method + " " + url + " answered " + r.statusCode() + ": " + r.body());
                        throw new IllegalStateException(method + " " + url + " answered " + r.statusCode());
                    }
                } catch (IOException e) {
                    if (stopping || System.nanoTime() > until) {
                        throw e;
                    }
                }
                sleep(backoff);
            }
        }
    }

    private final AtomicInteger failures = new AtomicInteger();

    /** A device that cannot go on says why, once for the first few. */
    private void failure(String why) {
        if (failures.incrementAndGet() <= 5) {
            System.err.println("fleet-scale: " + why);
        }
    }

    List<Bench.Row> run() throws Exception {
        List<Bench.Row> rows = new ArrayList<>();
        try {
            rows.addAll(measure());
        } finally {
            stopping = true;
            for (Process p : started) {
                p.destroy();
            }
            for (Process p : started) {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            http.shutdownNow();
            stopPostgres();
        }
        return rows;
    }

    private Path pgDir;
    private Path pgBin;

    private List<Bench.Row> measure() throws Exception {
        String db = startPostgres();
        List<Process> replicas = new ArrayList<>();
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int port = Bench.freePort();
            Path config = work.resolve("replica-" + i + ".yaml");
            Files.writeString(config, "data-dir: " + work.resolve("replica-" + i) + "\nhttp:\n  port: " + port
                    + "\ndatabase:\n  url: \"" + db + "\"\n  pool-size: 16\nadmin:\n  token: " + ADMIN + "\n");
            Process p = bench.startDeployer(config);
            started.add(p);
            replicas.add(p);
            ports.add(port);
        }
        // A pair of load balancers, as production runs them (behind DNS or a floating address), the devices split
        // between them: one HAProxy holding 10,000 device connections would need more descriptors than this
        // machine's limit of 20,000 allows (HAProxy reserves two per connection).
        List<String> lbs = List.of(startHaproxy(ports, 0), startHaproxy(ports, 1));
        String base = lbs.getFirst();
        Fleet admin = new Fleet(base, ADMIN);
        KeyPair key = dev.bramble.protocol.Signing.generate();
        admin.post("/v1/signers", "{\"name\":\"scale\",\"publicKey\":" + Fleet.quote(dev.bramble.protocol.Signing
                .pem(key.getPublic())) + "}");
        String enrol = admin.post("/v1/enrolment-tokens", "{\"group\":\"sim\",\"uses\":" + devices
                + ",\"ttlSeconds\":3600}").path("token").asText();

        // Enrolment: every device, 64 at a time, through the load balancer.
        long e0 = System.nanoTime();
        List<Device> fleet = Collections.synchronizedList(new ArrayList<>());
        Semaphore at = new Semaphore(64);
        try (ExecutorService vt = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < devices; i++) {
                int n = i;
                at.acquire();
                vt.submit(() -> {
                    try {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/enrol"))
                                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                                        "{\"token\":\"" + enrol + "\",\"name\":\"sim-" + n + "\"}")).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() != 201) {
                            throw new IOException("enrolment answered " + r.statusCode() + ": " + r.body());
                        }
                        JsonNode j = JSON.readTree(r.body());
                        fleet.add(new Device(j.path("deviceId").asText(), j.path("deviceToken").asText()));
                    } catch (IOException | InterruptedException e) {
                        throw new IllegalStateException("enrolment failed: " + e, e);
                    } finally {
                        at.release();
                    }
                    return null;
                });
            }
        }
        double enrolS = (System.nanoTime() - e0) / 1e9;
        if (fleet.size() != devices) {
            throw new IllegalStateException("only " + fleet.size() + " of " + devices + " devices enrolled");
        }
        // Every device follows its desired state from now on, each on a virtual thread.
        ExecutorService followers = Executors.newVirtualThreadPerTaskExecutor();
        for (int i = 0; i < fleet.size(); i++) {
            Device d = fleet.get(i);
            String lb = lbs.get(i % lbs.size());
            followers.submit(() -> d.follow(lb));
        }
        Thread.sleep(3_000); // their first long-polls are parked

        List<Bench.Row> rows = new ArrayList<>();
        rows.add(new Bench.Row(devices + " simulated devices enrolled through HAProxy (2 HAProxy, 3 replicas, PostgreSQL)",
                Bench.fmt(enrolS) + " s", "—", Bench.fmt(devices / enrolS) + " devices/s", "—", "—"));

        psql("SELECT pg_stat_statements_reset()");
        long[] cpu0 = cpuTicks(replicas);
        Rollout first = rollout(admin, key, fleet, 1, null);
        long[] cpu1 = cpuTicks(replicas);
        printStatements("the first rollout");
        double cpuS = 0;
        double rssMb = 0;
        for (int i = 0; i < replicas.size(); i++) {
            cpuS += (cpu1[i] - cpu0[i]) / 100.0;
            rssMb = Math.max(rssMb, Measure.rssMb(replicas.get(i).pid()));
        }
        rows.add(new Bench.Row("rollout to " + devices + " devices: deploy request → last success report (all at "
                + "once; each device long-polls, downloads by range, checks, reports, uploads telemetry)",
                Bench.fmt(first.seconds) + " s", "AWS IoT Jobs ≤ 1000 devices/min: " + Bench.fmt(devices / 1000.0
                * 60) + " s", Bench.fmt(first.seconds / (devices / 1000.0 * 60)) + "×", "≤ 60 s",
                first.seconds <= 60 ? "yes" : "no"));
        rows.add(new Bench.Row("… devices per minute per replica; p95 deploy → download start",
                Bench.fmt(devices / first.seconds * 60 / 3) + " /min; " + Bench.fmt(first.p95DownloadStartMs)
                        + " ms", "—", "—", "—", "—"));
        rows.add(new Bench.Row("… the deployers during it: CPU (all 3), largest RSS", Bench.fmt(cpuS) + " CPU s, "
                + Bench.fmt(rssMb) + " MB", "—", "—", "—", "—"));

        // The same rollout with one replica killed (SIGKILL) once half the devices succeeded.
        Rollout second = rollout(admin, key, fleet, 2, replicas.get(1));
        boolean exact = second.succeeded == devices && second.total == devices && second.installsOk;
        rows.add(new Bench.Row("… again with one of 3 replicas killed halfway: completes, each device counted once",
                Bench.fmt(second.seconds) + " s; " + second.succeeded + "/" + second.total + " succeeded"
                        + (second.installsOk ? "" : ", some device installed twice or never"), "the rollout above: "
                        + Bench.fmt(first.seconds) + " s", Bench.fmt(second.seconds / first.seconds) + "×",
                "completes, exact", exact ? "yes" : "no"));
        stopping = true;
        followers.shutdownNow();
        return rows;
    }

    private record Rollout(double seconds, double p95DownloadStartMs, long succeeded, long total,
                           boolean installsOk) {
    }

    /** Publishes version {@code v}, rolls it out to the group and follows it; kills {@code victim} halfway. */
    private Rollout rollout(Fleet admin, KeyPair key, List<Device> fleet, int v, Process victim) throws Exception {
        byte[] zip = bundle("v" + v);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(zip));
        admin.publish(zip, dev.bramble.protocol.Signing.sign(sha, key.getPrivate(), key.getPublic()).toJson());
        long t0 = System.nanoTime();
        String id = admin.post("/v1/deployments", "{\"function\":\"sim\",\"version\":\"" + v + "\",\"target\":"
                + "\"group:sim\",\"deviceTimeoutSeconds\":600}").path("id").asText();
        boolean killed = victim == null;
        JsonNode d;
        while (true) {
            try {
                d = admin.get("/v1/deployments/" + id + "?devices=false");
            } catch (IOException e) {
                // a replica answering 503 while the database is saturated, or the one just killed: ask again
                if (System.nanoTime() > until) {
                    throw e;
                }
                Thread.sleep(500);
                continue;
            }
            long ok = d.path("counts").path("succeeded").asLong();
            if (!killed && ok >= devices / 2) {
                victim.destroyForcibly();
                killed = true;
            }
            if (!d.path("state").asText().equals("in_progress")) {
                break;
            }
            if (System.nanoTime() > until) {
                throw new IllegalStateException("rollout " + v + " did not end within the bench's "
                        + DEADLINE.toMinutes() + " minutes: " + d);
            }
            Thread.sleep(100);
        }
        // A device reports, then uploads its telemetry: the last uploads may still be under way.
        while (fleet.stream().anyMatch(x -> !x.landed.containsKey(id)) && System.nanoTime() < until) {
            Thread.sleep(100);
        }
        long last = 0;
        List<Double> starts = new ArrayList<>();
        List<Double> fetches = new ArrayList<>();
        List<Double> reports = new ArrayList<>();
        List<Double> uploads = new ArrayList<>();
        boolean installsOk = true;
        for (Device dev : fleet) {
            Landed l = dev.landed.get(id);
            if (l == null) {
                continue;
            }
            last = Math.max(last, l.reportedNanos);
            starts.add(Math.max(0, l.downloadStartNanos - t0) / 1e6);
            fetches.add((l.fetchedNanos - l.downloadStartNanos) / 1e6);
            reports.add((l.reportedNanos - l.fetchedNanos) / 1e6);
            uploads.add((l.uploadedNanos - l.reportedNanos) / 1e6);
            installsOk &= dev.installs.get() == v; // one install per rollout, however often it was asked
        }
        double seconds = (last - t0) / 1e9;
        System.err.printf("fleet-scale: rollout %d: p50/p95 ms: deploy→download %.0f/%.0f, download %.0f/%.0f, "
                        + "report %.0f/%.0f, telemetry %.0f/%.0f%n", v, Measure.percentile(starts, 50),
                Measure.percentile(starts, 95), Measure.percentile(fetches, 50), Measure.percentile(fetches, 95),
                Measure.percentile(reports, 50), Measure.percentile(reports, 95), Measure.percentile(uploads, 50),
                Measure.percentile(uploads, 95));
        return new Rollout(seconds, Measure.percentile(starts, 95), d.path("counts").path("succeeded").asLong(),
                d.path("devicesTotal").asLong(), installsOk && starts.size() == devices);
    }

    /** A tiny, valid bundle (the python-sensor example renamed), a new one per version. */
    private byte[] bundle(String description) throws IOException {
        Path source = bench.dist().resolve("examples/python-sensor.zip");
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(source));
             ZipOutputStream zip = new ZipOutputStream(out)) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                byte[] b = in.readAllBytes();
                if (e.getName().equals("function.json")) {
                    com.fasterxml.jackson.databind.node.ObjectNode m = (com.fasterxml.jackson.databind.node.ObjectNode)
                            JSON.readTree(b);
                    m.put("name", "sim").put("description", description).remove("testEvents");
                    b = JSON.writeValueAsBytes(m);
                }
                ZipEntry n = new ZipEntry(e.getName());
                n.setTime(315532800000L);
                zip.putNextEntry(n);
                zip.write(b);
                zip.closeEntry();
            }
        }
        return out.toByteArray();
    }

    // --- the stock engines -----------------------------------------------------------------------------------------

    private String startPostgres() throws Exception {
        try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
            pgBin = versions.map(p -> p.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
                    .max(java.util.Comparator.naturalOrder()).orElseThrow(() -> new IllegalStateException(
                            "PostgreSQL is not installed (apt-get install postgresql)"));
        }
        pgDir = Files.createTempDirectory(Path.of("/tmp"), "bramble-bench-pg-");
        int port = Bench.freePort();
        run("chown", "postgres:postgres", pgDir.toString());
        asPostgres(pgBin.resolve("initdb").toString(), "-D", pgDir.resolve("data").toString(), "-U", "bramble",
                "--auth=trust", "-E", "UTF8");
        asPostgres(pgBin.resolve("pg_ctl").toString(), "-D", pgDir.resolve("data").toString(), "-w", "-l",
                pgDir.resolve("log").toString(), "-o", "-p " + port + " -k " + pgDir + " -c listen_addresses="
                        + "127.0.0.1 -c max_connections=200 -c shared_buffers=256MB -c shared_preload_libraries="
                        + "pg_stat_statements", "start");
        asPostgres(pgBin.resolve("createdb").toString(), "-h", "127.0.0.1", "-p", Integer.toString(port), "-U",
                "bramble", "deployer");
        pgPort = port;
        psql("CREATE EXTENSION pg_stat_statements");
        return "jdbc:postgresql://127.0.0.1:" + port + "/deployer?user=bramble";
    }

    private int pgPort;

    private String psql(String sql) throws Exception {
        Process p = new ProcessBuilder(pgBin.resolve("psql").toString(), "-h", "127.0.0.1", "-p",
                Integer.toString(pgPort), "-U", "bramble", "-d", "deployer", "-X", "-q", "-A", "-F", " | ", "-c", sql)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("psql -c " + sql + " failed: " + out);
        }
        return out;
    }

    /**
     * Where the database's time went in a rollout: pg_stat_statements' statements by total time, with calls per
     * device, so a change to the request paths shows as fewer round trips, not only as a shorter rollout.
     */
    private void printStatements(String title) throws Exception {
        System.err.println("fleet-scale: " + title + ", statements by total time (pg_stat_statements):\n"
                + psql("SELECT round(total_exec_time) AS ms, calls, round(calls::numeric / " + devices + ", 2) AS "
                + "per_device, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query FROM pg_stat_statements "
                + "ORDER BY total_exec_time DESC LIMIT 25")
                + psql("SELECT sum(calls) AS calls, round(sum(calls)::numeric / " + devices + ", 1) AS per_device, "
                + "round(sum(total_exec_time)) AS ms FROM pg_stat_statements"));
    }

    private void stopPostgres() throws Exception {
        if (pgDir != null) {
            asPostgres(pgBin.resolve("pg_ctl").toString(), "-D", pgDir.resolve("data").toString(), "-m", "fast",
                    "stop");
            run("rm", "-rf", pgDir.toString());
        }
    }

    private void asPostgres(String... command) throws Exception {
        List<String> all = new ArrayList<>(List.of("setpriv", "--reuid=postgres", "--regid=postgres",
                "--init-groups"));
        all.addAll(List.of(command));
        run(all.toArray(String[]::new));
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }

    /**
     * HAProxy from Debian in front of the replicas: HTTP/1.1 from the devices, HTTP/2 to the replicas, least
     * connections, health-checked every 500 ms.
     */
    private String startHaproxy(List<Integer> ports, int n) throws Exception {
        int port = Bench.freePort();
        StringBuilder servers = new StringBuilder();
        for (int i = 0; i < ports.size(); i++) {
            servers.append("    server r").append(i).append(" 127.0.0.1:").append(ports.get(i))
                    .append(" proto h2 check inter 1s fall 3 rise 2\n");
        }
        // The configuration the deployer ships, with this run's ports: plain HTTP/1.1 from the devices (no TLS to
        // pay for on this machine's two cores), the replicas as its servers, room for half the fleet.
        String shipped = Files.readString(SHIPPED_HAPROXY);
        String config = shipped.replace("    maxconn 8000\n", "    maxconn " + (devices / 2 + 500) + "\n")
                .replace("    bind :8700 ssl crt /etc/haproxy/bramble-deployer.pem alpn h2,http/1.1\n",
                        "    bind 127.0.0.1:" + port + "\n")
                .replaceAll("(?m)^    server replica-.*\n", "") + servers;
        if (!config.contains("bind 127.0.0.1:" + port) || !config.contains("maxconn " + (devices / 2 + 500))) {
            throw new IllegalStateException(SHIPPED_HAPROXY + " no longer has the maxconn and bind lines the bench "
                    + "rewrites");
        }
        Path cfg = work.resolve("haproxy-" + n + ".cfg");
        Files.writeString(cfg, config);
        // The replicas are reached over HTTP/2: a few multiplexed connections carry every device's long-poll.
        Process p = new ProcessBuilder("haproxy", "-db", "-f", cfg.toString())
                .redirectErrorStream(true).redirectOutput(work.resolve("haproxy-" + n + ".log").toFile()).start();
        started.add(p);
        String base = "http://127.0.0.1:" + port;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!Measure.healthy(base)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("haproxy did not start; see " + work.resolve("haproxy-" + n + ".log"));
            }
            Thread.sleep(50);
        }
        return base;
    }

    /** Each process's user + system CPU time, in clock ticks (1/100 s). */
    private static long[] cpuTicks(List<Process> ps) throws IOException {
        long[] out = new long[ps.size()];
        for (int i = 0; i < ps.size(); i++) {
            String stat = Files.readString(Path.of("/proc/" + ps.get(i).pid() + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            out[i] = Long.parseLong(f[11]) + Long.parseLong(f[12]);
        }
        return out;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
