package dev.bramble.bench;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** A real brambled started from dist/bin/brambled, as an operator would run it. */
final class Daemon {
    /** The bench daemons' admin token, set in their configuration. */
    static final String ADMIN_TOKEN = "bench-device-admin-token-0123456789";
    private final Process process;
    private final String base;
    private final Path dataDir;

    private Daemon(Process process, String base, Path dataDir) {
        this.process = process;
        this.base = base;
        this.dataDir = dataDir;
    }

    /** Starts one and returns once it answers /v1/health. */
    static Daemon start(Bench bench, Path dataDir) throws IOException, InterruptedException {
        return start(bench, dataDir, "");
    }

    /**
     * Starts one with extra YAML appended to its configuration; a {@code sandbox:} block in it replaces the default
     * one (the configuration refuses a key given twice).
     */
    static Daemon start(Bench bench, Path dataDir, String extraYaml) throws IOException, InterruptedException {
        int port = Bench.freePort();
        Path config = bench.work().resolve("brambled-" + port + ".yaml");
        String sandbox = extraYaml.contains("sandbox:\n") ? "" : "sandbox:\n  cgroup-name: bramble-bench\n";
        Files.writeString(config, """
                data-dir: %s
                http:
                  port: %d
                security:
                  allow-unsigned: true
                admin:
                  token: %s
                """.formatted(dataDir, port, ADMIN_TOKEN) + sandbox + extraYaml);
        Process p = new ProcessBuilder(bench.dist().resolve("bin/brambled").toString(), "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(bench.work().resolve("brambled-" + port + ".log").toFile())
                .start();
        Daemon d = new Daemon(p, "http://127.0.0.1:" + port, dataDir);
        while (!Measure.healthy(d.base)) {
            if (!p.isAlive()) {
                throw new IOException("brambled exited; see " + bench.work());
            }
            Thread.sleep(5);
        }
        return d;
    }

    /** The JVM flags dist/bin/brambled gives the daemon, read from the launcher itself. */
    static List<String> daemonFlags() throws IOException {
        Path launcher = Path.of(System.getProperty("bramble.dist", "dist")).resolve("bin/brambled");
        for (String line : Files.readAllLines(launcher)) {
            if (line.startsWith("DEFAULT_OPTS=")) {
                return Arrays.asList(line.substring(line.indexOf('"') + 1, line.lastIndexOf('"')).split("\\s+"));
            }
        }
        throw new IOException("no DEFAULT_OPTS in " + launcher);
    }

    String base() {
        return base;
    }

    /** A call of an admin route, with the token. */
    HttpResponse<String> admin(String method, String path, byte[] body) throws IOException {
        return Measure.send(method, base + path, body, "Authorization", "Bearer " + ADMIN_TOKEN);
    }

    long pid() {
        return process.pid();
    }

    void deploy(Path zip) throws IOException {
        deployBytes(Files.readAllBytes(zip));
    }

    void deployBytes(byte[] zip) throws IOException {
        HttpResponse<String> r = admin("POST", "/v1/deployments", zip);
        if (r.statusCode() / 100 != 2) {
            throw new IOException("deploy failed: " + r.statusCode() + " " + r.body());
        }
    }

    String invoke(String function, String event) throws IOException {
        HttpResponse<String> r = Measure.send("POST", base + "/2015-03-31/functions/" + function + "/invocations",
                event.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        if (r.statusCode() != 200 || r.headers().firstValue("X-Amz-Function-Error").isPresent()) {
            throw new IOException(function + " failed: " + r.statusCode() + " " + r.body());
        }
        return r.body();
    }

    /** The SHA-256 of the function's live version, or empty. */
    String liveSha(String function) throws IOException {
        HttpResponse<String> r = admin("GET", "/v1/functions/" + function, null);
        if (r.statusCode() != 200) {
            return "";
        }
        com.fasterxml.jackson.databind.JsonNode f = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body());
        int live = f.path("aliases").path("live").asInt();
        for (com.fasterxml.jackson.databind.JsonNode v : f.path("versions")) {
            if (v.path("version").asInt() == live) {
                return v.path("sha256").asText();
            }
        }
        return "";
    }

    void recycleAll(List<String> functions) throws IOException {
        for (String f : functions) {
            admin("DELETE", "/v1/functions/" + f + "/environments", null);
        }
    }

    /** Waits until the function's class-data archive has been trained after its deployment. */
    void awaitArchive(String function) throws IOException, InterruptedException {
        Path dir = dataDir.resolve("archives").resolve(function);
        for (int i = 0; i < 300; i++) {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> files = Files.walk(dir)) {
                    if (files.anyMatch(p -> p.getFileName().toString().equals("app.jsa"))) {
                        return;
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new IOException("no class-data archive for " + function + " after 30 s");
    }

    /** The pid of the function JVM of the daemon's (only) environment. */
    /** The daemon's process. */
    Process process() {
        return process;
    }

    long environmentPid() {
        List<ProcessHandle> javas = new ArrayList<>();
        process.toHandle().descendants().filter(p -> p.info().commandLine().orElse("")
                .contains("dev.bramble.runtime.Main") && p.info().command().orElse("").endsWith("java"))
                .forEach(javas::add);
        Optional<ProcessHandle> first = javas.stream().findFirst();
        return first.orElseThrow(() -> new IllegalStateException("no environment running")).pid();
    }

    void stop() throws InterruptedException {
        process.destroy();
        process.waitFor();
    }
}
