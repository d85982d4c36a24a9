package dev.bramble.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Runs every benchmark on this machine against a real {@code dist/bin/brambled} and prints the Markdown table of
 * the developers' brief, each figure beside a floor measured in the same run. Usage:
 * {@code Bench DIST_DIR RESULTS_FILE}.
 */
public final class Bench {
    static final String NOOP_EVENT = "{}";
    private static final String POJO_EVENT = "{\"item\":\"bolt\",\"quantity\":3,\"unitPrice\":0.5}";
    private static final String HELLO_EVENT = "{\"version\":\"2.0\",\"rawPath\":\"/\",\"queryStringParameters\":"
            + "{\"name\":\"bench\"},\"headers\":{},\"requestContext\":{\"http\":{\"method\":\"GET\",\"path\":\"/\"}}}";
    private static final int COLD_RUNS = 10;
    static final int WRK_SECONDS = 8;

    private final Path dist;
    private final Path work;
    private final List<Row> rows = new ArrayList<>();
    private final String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private final String benchClasspath = System.getProperty("java.class.path");
    /** The bare floor's classpath: jars only (class-data sharing ignores directories), and only what it needs. */
    private final String bareClasspath = System.getProperty("bramble.bench.bare-classpath", benchClasspath);

    /** One line of the table. */
    record Row(String figure, String measured, String floor, String ratio, String goal, String verdict) {
    }

    private Bench(Path dist, Path work) {
        this.dist = dist;
        this.work = work;
    }

    public static void main(String[] args) throws Exception {
        Path dist = Path.of(args[0]).toAbsolutePath();
        Path out = Path.of(args[1]).toAbsolutePath();
        Path work = Files.createTempDirectory("bramble-bench-");
        Bench b = new Bench(dist, work);
        String table = b.run();
        String report = "# Bramble benchmark, " + LocalDate.now() + "\n\n" + facts() + "\n" + table;
        Files.createDirectories(out.getParent());
        Files.writeString(out, report);
        System.out.println(report);
    }

    private String run() throws Exception {
        if (System.getProperty("bramble.bench.only", "").equals("mqtt")) {
            mqttRoundTrip();
            return table();
        }
        if (System.getProperty("bramble.bench.only", "").equals("fleet")) {
            fleetDeploy();
            return table();
        }
        if (System.getProperty("bramble.bench.only", "").equals("containment")) {
            containmentCost();
            return table();
        }
        if (System.getProperty("bramble.bench.only", "").equals("languages")) {
            rows.addAll(new Languages(this, work).run());
            return table();
        }
        if (System.getProperty("bramble.bench.only", "").equals("scale")) {
            rows.addAll(new FleetScale(this, work).run());
            return table();
        }
        if (System.getProperty("bramble.bench.only", "").equals("telemetry")) {
            rows.addAll(new TelemetryBench(this).run());
            return table();
        }
        boolean runtimeOnly = System.getProperty("bramble.bench.only", "").equals("runtime");
        // the warm path alone (and what it needs: idle RSS, the environment's PSS), for profiling it
        boolean warmOnly = System.getProperty("bramble.bench.only", "").equals("warm");
        if (!runtimeOnly && !warmOnly) {
            startToReady();
        }
        Daemon d = Daemon.start(this, work.resolve("data"));
        try {
            d.deploy(bundle("hello"));
            d.deploy(bundle("echo"));
            d.deploy(withManifest(bundle("shapes"), "noop", "NoopHandler", ""));
            for (String f : List.of("hello", "echo", "noop")) {
                d.invoke(f, "{}");
            }
            d.recycleAll(List.of("hello", "echo", "noop"));
            Thread.sleep(2000);
            double daemonIdle = Measure.rssMb(d.pid());
            d.invoke("noop", NOOP_EVENT);
            double envPss = Measure.pssMb(d.environmentPid());
            deployTime(d);
            d.deploy(withManifest(bundle("shapes"), "pojo", "PojoHandler", ""));
            if (!warmOnly) {
                coldStarts(d);
            }
            if (runtimeOnly) {
                bareIdlePss(envPss);
                return table();
            }
            warmPath(d, daemonIdle, envPss);
            if (warmOnly) {
                return table();
            }
        } finally {
            d.stop();
        }
        containmentCost();
        rows.addAll(new Languages(this, work).run());
        mqttRoundTrip();
        fleetDeploy();
        rows.addAll(new TelemetryBench(this).run());
        return table();
    }

    /**
     * What containment costs: the same cold start and warm call on a daemon with every piece of the sandbox
     * (cgroups and freezer, bwrap, setpriv, nft) and on one with none, measured alike in the same run.
     */
    private void containmentCost() throws Exception {
        if (!System.getProperty("user.name").equals("root")) {
            rows.add(new Row("containment cost (cold start, warm p50)", "not measured: needs root", "—", "—",
                    "≤ 1.10×", "—"));
            return;
        }
        String none = "sandbox:\n  cgroup-root: /nonexistent\n  bwrap: /nonexistent\n  setpriv: /nonexistent\n"
                + "  nft: /nonexistent\n";
        double[] contained = coldAndWarm(Daemon.start(this, work.resolve("contained-data")));
        double[] bare = coldAndWarm(Daemon.start(this, work.resolve("uncontained-data"), none.replace(
                "sandbox:\n", "sandbox:\n  cgroup-name: bramble-bench-uncontained\n")));
        double cold = contained[0] / bare[0];
        double warm = contained[1] / bare[1];
        rows.add(new Row("containment cost (cgroups, freezer, bwrap, setpriv, nft; CPU quota at the device's cap): "
                + "cold start hello p50; warm Invoke API noop p50 (1 connection)",
                fmt(contained[0]) + " ms; " + fmt(contained[1]) + " µs", "the same daemon without a sandbox: "
                + fmt(bare[0]) + " ms; " + fmt(bare[1]) + " µs", fmt(cold) + "×; " + fmt(warm) + "×",
                "≤ 1.10× each", cold <= 1.10 && warm <= 1.10 ? "yes" : "no"));
    }

    /** Cold start p50 (ms) of hello and warm p50 (µs) of noop on this daemon, which it then stops. */
    private double[] coldAndWarm(Daemon d) throws Exception {
        try {
            // The most CPU an environment may have (1.5 cores of 2): the quota is a limit the function chooses, not
            // a cost of the sandbox, and the uncontained daemon has none.
            d.deploy(withManifest(bundle("hello"), "hello", "dev.bramble.examples.hello.Hello", ", \"cpus\": 2"));
            d.deploy(withManifest(bundle("shapes"), "noop", "NoopHandler", ", \"cpus\": 2"));
            d.awaitArchive("hello");
            List<Double> cold = new ArrayList<>();
            for (int i = 0; i < COLD_RUNS; i++) {
                d.recycleAll(List.of("hello"));
                long t0 = System.nanoTime();
                d.invoke("hello", HELLO_EVENT);
                cold.add((System.nanoTime() - t0) / 1e6);
            }
            String path = d.base() + "/2015-03-31/functions/noop/invocations";
            Measure.wrk(path, "POST", NOOP_EVENT, 1, 1, 2, work);
            Measure.Wrk warm = Measure.wrk(path, "POST", NOOP_EVENT, 1, 1, WRK_SECONDS, work);
            return new double[]{Measure.percentile(cold, 50), warm.p50us()};
        } finally {
            d.stop();
        }
    }

    private String table() {
        StringBuilder sb = new StringBuilder("| figure | measured | floor (same run) | ratio | goal | met |\n"
                + "|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append("| ").append(String.join(" | ", r.figure(), r.measured(), r.floor(), r.ratio(), r.goal(),
                    r.verdict())).append(" |\n");
        }
        return sb.toString();
    }

    /**
     * MQTT publish → function → reply on the reply topic, against mosquitto's own round trip (publish and receive
     * on the same client) in the same run. QoS 1 both ways; one message at a time.
     */
    private void mqttRoundTrip() throws Exception {
        try (MqttProbe probe = MqttProbe.start(work.resolve("mosquitto"))) {
            Daemon d = Daemon.start(this, work.resolve("mqtt-data"), "mqtt:\n  url: " + probe.url()
                    + "\n  client-id: bramble-bench\n");
            try {
                d.deploy(withManifest(bundle("shapes"), "mqttnoop", "NoopHandler", ", \"triggers\": [{\"type\": "
                        + "\"mqtt\", \"topic\": \"bench/in/+\", \"replyTopic\": \"bench/out/{2}\"}]"));
                probe.awaitSubscribed(d.base(), "bench/in/+");
                List<Double> floor = probe.roundTrips("bench/echo", "bench/echo", 200, 1000);
                List<Double> got = probe.roundTrips("bench/in/x", "bench/out/x", 200, 1000);
                double f50 = Measure.percentile(floor, 50);
                double g50 = Measure.percentile(got, 50);
                double g99 = Measure.percentile(got, 99);
                rows.add(new Row("MQTT publish → function → reply, QoS 1, p50 / p99 (1000 sequential)",
                        fmt(g50) + " / " + fmt(g99) + " ms", "mosquitto round trip p50 " + fmt(f50) + " ms",
                        fmt(g50 / f50) + "×", "≤ 5 ms p50", g50 <= 5 ? "yes" : "no"));
            } finally {
                d.stop();
            }
        }
    }

    /**
     * {@code bramble deploy} → the new version answering on the device: a real deployer (its launcher, SQLite) and
     * a daemon whose agent follows it; from the deployment request to the first answer of the new version (download,
     * digest and signature checks, unpack, smoke test, switch, cold start), p50 of 10.
     */
    static final String DEPLOYER_ADMIN = "bench-admin-token-0123456789";

    /** Writes a deployer configuration (SQLite in {@code dir}) on a free port; returns the config file. */
    Path deployerConfig(String dir) throws IOException {
        Path config = work.resolve(dir + ".yaml");
        Files.writeString(config, "data-dir: " + work.resolve(dir) + "\nhttp:\n  port: " + freePort()
                + "\nadmin:\n  token: " + DEPLOYER_ADMIN + "\n");
        return config;
    }

    /** The deployer's base URL in a configuration written by {@link #deployerConfig}. */
    static String deployerBase(Path config) throws IOException {
        String port = Files.readString(config).replaceAll("(?s).*port: (\\d+).*", "$1");
        return "http://127.0.0.1:" + port;
    }

    /** Starts bramble-deployer from dist/bin, as an operator would, and waits until it answers. */
    Process startDeployer(Path config) throws IOException, InterruptedException {
        Path log = work.resolve(config.getFileName() + ".log");
        Process deployer = new ProcessBuilder(dist.resolve("bin/bramble-deployer").toString(), "--config",
                config.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(
                log.toFile())).start();
        while (!Measure.healthy(deployerBase(config))) {
            if (!deployer.isAlive()) {
                throw new IOException("bramble-deployer exited; see " + log);
            }
            Thread.sleep(20);
        }
        return deployer;
    }

    private void fleetDeploy() throws Exception {
        String admin = DEPLOYER_ADMIN;
        Path config = deployerConfig("deployer");
        String base = deployerBase(config);
        Process deployer = startDeployer(config);
        try {
            java.security.KeyPair key = dev.bramble.protocol.Signing.generate();
            Path trusted = Files.createDirectories(work.resolve("trusted-keys"));
            Files.writeString(trusted.resolve("bench.pub"), dev.bramble.protocol.Signing.pem(key.getPublic()));
            Fleet fleet = new Fleet(base, admin);
            fleet.post("/v1/signers", "{\"name\":\"bench\",\"publicKey\":" + Fleet.quote(
                    dev.bramble.protocol.Signing.pem(key.getPublic())) + "}");
            String token = fleet.post("/v1/enrolment-tokens", "{\"group\":\"bench\"}").path("token").asText();
            Daemon d = Daemon.start(this, work.resolve("fleet-data"), "agent:\n  deployer-url: " + base
                    + "\n  enrolment-token: " + token + "\n  trusted-keys: " + trusted + "\n");
            try {
                List<Double> ms = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    Path zip = withManifest(bundle("shapes"), "fleetprobe", "NoopHandler",
                            ", \"description\": \"v" + i + "\"");
                    byte[] bytes = Files.readAllBytes(zip);
                    String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                            .digest(bytes));
                    fleet.publish(bytes, dev.bramble.protocol.Signing.sign(sha, key.getPrivate(), key.getPublic())
                            .toJson());
                    long t0 = System.nanoTime();
                    fleet.post("/v1/deployments", "{\"function\":\"fleetprobe\",\"version\":\"" + (i + 1)
                            + "\",\"target\":\"group:bench\"}");
                    while (!d.liveSha("fleetprobe").equals(sha)) {
                        Thread.sleep(5);
                    }
                    d.invoke("fleetprobe", NOOP_EVENT);
                    ms.add((System.nanoTime() - t0) / 1e6);
                }
                double p50 = Measure.percentile(ms, 50);
                rows.add(new Row("deploy through the deployer → new version answering on the device (loopback, p50 "
                        + "of 10; download, checks, smoke test, switch, cold start)", fmt(p50) + " ms",
                        "local deploy, same run: see the row above; Greengrass v2: minutes", "—", "≤ 2000 ms",
                        p50 <= 2000 ? "yes" : "no"));
            } finally {
                d.stop();
            }
        } finally {
            deployer.destroy();
            deployer.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    private void startToReady() throws Exception {
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Path data = work.resolve("ready-" + i);
            long t0 = System.nanoTime();
            Daemon d = Daemon.start(this, data);
            ms.add((System.nanoTime() - t0) / 1e6);
            d.stop();
        }
        double p50 = Measure.percentile(ms, 50);
        rows.add(new Row("daemon start → ready (p50 of 5, empty state; its class-data archive from the first)", fmt(p50) + " ms",
                "Greengrass nucleus offline: 1800 ms", fmt(p50 / 1800) + "×", "≤ 900 ms", p50 <= 900 ? "yes" : "no"));
    }

    private void deployTime(Daemon d) throws Exception {
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Path zip = withManifest(bundle("shapes"), "deployprobe", "NoopHandler", ", \"description\": \"v" + i + "\"");
            byte[] body = Files.readAllBytes(zip);
            long t0 = System.nanoTime();
            d.deployBytes(body);
            String answer = d.invoke("deployprobe", NOOP_EVENT);
            ms.add((System.nanoTime() - t0) / 1e6);
            if (!answer.equals("\"ok\"")) {
                throw new IllegalStateException("deployprobe answered " + answer);
            }
        }
        double p50 = Measure.percentile(ms, 50);
        rows.add(new Row("local deploy → live and answering (loopback, p50 of 5; includes the cold start)",
                fmt(p50) + " ms", "Greengrass v2: minutes", "—", "≤ 2000 ms", p50 <= 2000 ? "yes" : "no"));
    }

    private void coldStarts(Daemon d) throws Exception {
        for (String[] f : List.of(new String[]{"hello", "dev.bramble.examples.hello.Hello", HELLO_EVENT, "hello"},
                new String[]{"pojo", "dev.bramble.examples.shapes.PojoHandler", POJO_EVENT, "shapes"})) {
            d.awaitArchive(f[0]);
            List<Double> daemon = new ArrayList<>();
            for (int i = 0; i < COLD_RUNS; i++) {
                d.recycleAll(List.of(f[0]));
                long t0 = System.nanoTime();
                d.invoke(f[0], f[2]);
                daemon.add((System.nanoTime() - t0) / 1e6);
            }
            Path root = unzip(bundle(f[3]), f[0]);
            List<String> tuned = new ArrayList<>(childFlags());
            Path archive = work.resolve("bare-" + f[0] + ".jsa");
            tuned.add("-XX:SharedArchiveFile=" + archive);
            tuned.add("-XX:+AutoCreateSharedArchive");
            bare(tuned, root, f[1], f[2]); // trains the floor's own archive
            List<Double> same = new ArrayList<>();
            List<Double> dflt = new ArrayList<>();
            for (int i = 0; i < COLD_RUNS; i++) {
                same.add(bare(tuned, root, f[1], f[2]));
                dflt.add(bare(List.of(), root, f[1], f[2]));
            }
            double p50 = Measure.percentile(daemon, 50);
            double p95 = Measure.percentile(daemon, 95);
            double floor = Measure.percentile(same, 50);
            double def = Measure.percentile(dflt, 50);
            rows.add(new Row("cold start " + f[0] + ", spawn → first response via the Invoke API, p50 / p95",
                    fmt(p50) + " / " + fmt(p95) + " ms", "bare JVM, same flags: " + fmt(floor) + " ms; default flags: "
                    + fmt(def) + " ms", fmt(p50 / floor) + "× / " + fmt(p50 / def) + "×",
                    "≤ 1.15× / ≤ 0.5×", p50 / floor <= 1.15 && p50 / def <= 0.5 ? "yes" : "no"));
        }
    }

    private void warmPath(Daemon d, double daemonIdle, double envPss) throws Exception {
        int plainPort = freePort();
        Path invokeBytes = work.resolve("invoke.bin");
        Files.writeString(invokeBytes, d.invoke("noop", NOOP_EVENT));
        Path urlBytes = work.resolve("url.bin");
        Files.writeString(urlBytes, Measure.send("GET", d.base() + "/fn/hello", null).body());
        List<String> cmd = new ArrayList<>(List.of(javaBin));
        cmd.addAll(Daemon.daemonFlags());
        // The same flags as the daemon, class-data archive included: one run trains the floor's own archive.
        cmd.addAll(List.of("-XX:SharedArchiveFile=" + work.resolve("plain.jsa"), "-XX:+AutoCreateSharedArchive",
                "-cp", benchClasspath, PlainHelidon.class.getName(), Integer.toString(plainPort),
                invokeBytes.toString(), urlBytes.toString()));
        String plainBase = "http://127.0.0.1:" + plainPort;
        Process training = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(work.resolve("plain-training.log").toFile()).start();
        while (!Measure.healthy(plainBase)) {
            Thread.sleep(20);
        }
        training.destroy();
        training.waitFor();
        Process plain = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(work.resolve("plain.log").toFile()).start();
        try {
            while (!Measure.healthy(plainBase)) {
                Thread.sleep(20);
            }
            String invokePath = "/2015-03-31/functions/noop/invocations";
            Measure.wrk(d.base() + invokePath, "POST", NOOP_EVENT, 1, 1, 2, work); // warm-up
            Measure.wrk(plainBase + invokePath, "POST", NOOP_EVENT, 1, 1, 2, work);
            Measure.Wrk ia = Measure.wrk(d.base() + invokePath, "POST", NOOP_EVENT, 1, 1, WRK_SECONDS, work);
            Measure.Wrk pa = Measure.wrk(plainBase + invokePath, "POST", NOOP_EVENT, 1, 1, WRK_SECONDS, work);
            latencyRow("warm invoke, Invoke API, noop, 1 connection: p50 / p99", ia, pa);
            Measure.wrk(d.base() + "/fn/hello", "GET", null, 1, 1, 2, work);
            Measure.Wrk iu = Measure.wrk(d.base() + "/fn/hello", "GET", null, 1, 1, WRK_SECONDS, work);
            Measure.Wrk pu = Measure.wrk(plainBase + "/fn/hello", "GET", null, 1, 1, WRK_SECONDS, work);
            latencyRow("warm invoke, Function URL, hello, 1 connection: p50 / p99", iu, pu);

            double peak = daemonIdle;
            for (int n : List.of(1, 2, 4)) {
                String name = "noop" + n;
                d.deploy(withManifest(bundle("shapes"), name, "NoopHandler",
                        ", \"concurrency\": {\"reserved\": " + n + ", \"provisioned\": " + n + "}"));
                String path = "/2015-03-31/functions/" + name + "/invocations";
                Measure.wrk(d.base() + path, "POST", NOOP_EVENT, 2, 2 * n, 2, work);
                MemorySampler sampler = MemorySampler.start(d.pid());
                Measure.Wrk t = Measure.wrk(d.base() + path, "POST", NOOP_EVENT, 2, 2 * n, WRK_SECONDS, work);
                peak = Math.max(peak, sampler.stop());
                Measure.Wrk f = Measure.wrk(plainBase + path, "POST", NOOP_EVENT, 2, 2 * n, WRK_SECONDS, work);
                double ratio = t.rps() / f.rps();
                rows.add(new Row("warm throughput, noop, " + n + " environment" + (n > 1 ? "s" : "") + ", " + (2 * n)
                        + " connections", fmt(t.rps()) + " req/s" + errors(t), "plain Helidon: " + fmt(f.rps())
                        + " req/s", pct(ratio), n == 2 ? "≥ 50 %" : "—", n == 2 ? (ratio >= 0.5 ? "yes" : "no") : "—"));
            }
            d.deploy(withManifest(bundle("shapes"), "noopshared", "NoopHandler",
                    ", \"concurrency\": {\"reserved\": 1, \"provisioned\": 1, \"perEnvironment\": 4}"));
            String shared = "/2015-03-31/functions/noopshared/invocations";
            Measure.wrk(d.base() + shared, "POST", NOOP_EVENT, 2, 4, 2, work);
            Measure.Wrk ts = Measure.wrk(d.base() + shared, "POST", NOOP_EVENT, 2, 4, WRK_SECONDS, work);
            Measure.Wrk fs = Measure.wrk(plainBase + shared, "POST", NOOP_EVENT, 2, 4, WRK_SECONDS, work);
            rows.add(new Row("warm throughput, noop, 1 environment × 4 at once (perEnvironment), 4 connections",
                    fmt(ts.rps()) + " req/s" + errors(ts), "plain Helidon: " + fmt(fs.rps()) + " req/s",
                    pct(ts.rps() / fs.rps()), "—", "—"));
            double helidonRss = Measure.rssMb(plain.pid());
            rows.add(new Row("daemon RSS, idle, 3 functions deployed", fmt(daemonIdle) + " MB",
                    "Helidon hello world, same JVM flags and its own class-data archive: " + fmt(helidonRss)
                            + " MB; Greengrass nucleus: 97 MB",
                    fmt(daemonIdle / helidonRss) + "×", "≤ 1.15× and ≤ 78 MB",
                    daemonIdle / helidonRss <= 1.15 && daemonIdle <= 78 ? "yes" : "no"));
            rows.add(new Row("daemon RSS under load (peak during the throughput runs)", fmt(peak) + " MB", "—", "—",
                    "—", "—"));
            bareIdlePss(envPss);
        } finally {
            plain.destroy();
            plain.waitFor();
        }
    }

    private void bareIdlePss(double envPss) throws Exception {
        Path root = unzip(bundle("shapes"), "noop-bare");
        List<String> cmd = new ArrayList<>(List.of(javaBin));
        cmd.addAll(childFlags());
        cmd.addAll(List.of("-cp", bareClasspath, BareLambda.class.getName(), root.toString(),
                "dev.bramble.examples.shapes.NoopHandler", NOOP_EVENT, "--stay"));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (InputStream in = p.getInputStream()) {
            in.read();
            Thread.sleep(1500);
            double bare = Measure.pssMb(p.pid());
            rows.add(new Row("idle warm environment, PSS (noop, 128 MB)", fmt(envPss) + " MB", "bare JVM, same flags: "
                    + fmt(bare) + " MB", fmt(envPss / bare) + "×", "≤ 32 MB", envPss <= 32 ? "yes" : "no"));
        } finally {
            p.destroyForcibly();
            p.waitFor();
        }
    }

    private void latencyRow(String figure, Measure.Wrk got, Measure.Wrk floor) {
        double extra = got.p50us() - floor.p50us();
        rows.add(new Row(figure, fmt(got.p50us()) + " / " + fmt(got.p99us()) + " µs" + errors(got),
                "plain Helidon, same bytes: " + fmt(floor.p50us()) + " / " + fmt(floor.p99us()) + " µs",
                "+" + fmt(extra) + " µs p50", "≤ +100 µs p50; p99 ≤ 2 ms",
                extra <= 100 && got.p99us() <= 2000 ? "yes" : "no"));
    }

    /** Milliseconds from spawn to the handler's printed result, for the bare JVM floor. */
    private double bare(List<String> flags, Path root, String handler, String event) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(javaBin));
        cmd.addAll(flags);
        cmd.addAll(List.of("-cp", bareClasspath, BareLambda.class.getName(), root.toString(), handler, event));
        return Measure.msToFirstLine(cmd);
    }

    /** The flags brambled gives a 128 MB function's JVM, less its sandbox and channel. */
    static List<String> childFlags() {
        return List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k", "-XX:ReservedCodeCacheSize=16m",
                "-XX:-UsePerfData", "-Xshare:auto", "-XX:MaxRAM=128m", "-XX:MaxRAMPercentage=85");
    }

    Path dist() {
        return dist;
    }

    Path work() {
        return work;
    }

    Path bundle(String name) {
        return dist.resolve("examples").resolve(name + ".zip");
    }

    Path withManifest(Path zip, String name, String handler, String extra) throws IOException {
        Path root = unzip(zip, name + "-" + System.nanoTime());
        Files.writeString(root.resolve("function.json"), "{\"name\":\"" + name + "\",\"runtime\":\"java21\","
                + "\"handler\":\"" + (handler.contains(".") ? "" : "dev.bramble.examples.shapes.") + handler
                + "\",\"memoryMb\":128,\"timeoutSeconds\":10"
                + extra + "}");
        Path out = work.resolve(root.getFileName() + ".zip");
        Zips.zip(root, out);
        return out;
    }

    private Path unzip(Path zip, String name) throws IOException {
        Path root = work.resolve("unpacked").resolve(name);
        Files.createDirectories(root);
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                Path p = root.resolve(e.getName()).normalize();
                if (!p.startsWith(root)) {
                    throw new IOException("bad entry " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(p);
                } else {
                    Files.createDirectories(p.getParent());
                    Files.copy(in, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return root;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String errors(Measure.Wrk w) {
        return w.errors().isEmpty() ? "" : " (" + w.errors() + ")";
    }

    static String fmt(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String pct(double ratio) {
        return String.format(Locale.ROOT, "%.0f %%", ratio * 100);
    }

    private static String facts() throws IOException {
        String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("unknown");
        long memKb = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal"))
                .findFirst().map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).orElse(0L);
        String cgroup = Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers")) ? "v2" : "v1";
        return String.join("\n",
                "- machine: " + Runtime.getRuntime().availableProcessors() + " cores (" + cpu + "), "
                        + memKb / 1024 / 1024 + " GiB, kernel " + System.getProperty("os.version") + ", cgroup " + cgroup,
                "- JDK: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
                "- user: " + System.getProperty("user.name") + " (as root the daemon runs with full isolation: "
                        + "cgroups, bubblewrap, setpriv — every function call below pays for it)",
                "- load: wrk from a separate process over loopback, keep-alive; floors run in the same run",
                "");
    }

    /** Samples a process's RSS in the background and keeps the peak. */
    static final class MemorySampler {
        private final Thread thread;
        private volatile boolean running = true;
        private volatile double peak;

        private MemorySampler(long pid) {
            thread = Thread.ofVirtual().start(() -> {
                while (running) {
                    try {
                        peak = Math.max(peak, Measure.rssMb(pid));
                        Thread.sleep(200);
                    } catch (IOException | InterruptedException e) {
                        return;
                    }
                }
            });
        }

        static MemorySampler start(long pid) {
            return new MemorySampler(pid);
        }

        double stop() throws InterruptedException {
            running = false;
            thread.join();
            return peak;
        }
    }
}
