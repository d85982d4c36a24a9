package dev.bramble.daemon.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bramble.daemon.Daemon;
import dev.bramble.daemon.DaemonConfig;
import dev.bramble.daemon.Main;
import dev.bramble.daemon.store.Trees;
import dev.bramble.sandbox.Sandbox;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A daemon of this process's own for one bundle: its state in a temporary directory that {@link #close} deletes,
 * unsigned bundles allowed, no agent, no telemetry and no class-data archives, the best isolation this machine
 * allows (full as root, none otherwise, as a device's daemon would say). It is driven through its own HTTP API, as
 * a caller would drive a device.
 */
final class LocalDaemon implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    // Held here: java.util.logging keeps loggers weakly, and a collected one forgets its level.
    private static final Logger ROOT_LOGGER = Logger.getLogger("");
    private static final Logger HELIDON_LOGGER = Logger.getLogger("io.helidon.webserver");
    private final Path home;
    private final Sandbox sandbox;
    private final Daemon daemon;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private LocalDaemon(Path home, Sandbox sandbox, Daemon daemon, String token) {
        this.home = home;
        this.sandbox = sandbox;
        this.daemon = daemon;
        this.token = token;
    }

    /**
     * Starts one on {@code port} of the loopback interface (0: a free one).
     *
     * @param runtimeClasspath the child runtime's classpath, or null for the installation's {@code lib/runtime}
     */
    static LocalDaemon start(int port, String runtimeClasspath) throws IOException {
        // The daemon's own INFO lines are a device operator's; here only the function's log is of interest.
        ROOT_LOGGER.setLevel(Level.SEVERE);
        // Helidon says a port it cannot bind with a stack trace; the daemon's ListenerException says it in a line.
        HELIDON_LOGGER.setLevel(Level.OFF);
        Path home = Files.createTempDirectory("bramble-local-");
        byte[] secret = new byte[16];
        new SecureRandom().nextBytes(secret);
        String token = HexFormat.of().formatHex(secret);
        Path config = home.resolve("bramble.yaml");
        Files.writeString(config, """
                data-dir: %s
                http:
                  port: %d
                admin:
                  token: %s
                security:
                  allow-unsigned: true
                sync:
                  enabled: false
                sandbox:
                  cgroup-name: bramble-local-%d
                runtime:
                  class-data-archives: false
                """.formatted(home.resolve("data"), port, token, ProcessHandle.current().pid())
                + (runtimeClasspath == null ? "" : "  classpath: \"" + runtimeClasspath + "\"\n"));
        Sandbox sandbox = null;
        try {
            DaemonConfig parsed = DaemonConfig.load(config);
            sandbox = Sandbox.create(Main.sandboxSettings(parsed));
            return new LocalDaemon(home, sandbox, Daemon.start(parsed, sandbox, Clock.systemUTC()), token);
        } catch (RuntimeException e) {
            if (sandbox != null) {
                sandbox.close();
            }
            Trees.deleteQuietly(home);
            throw e;
        }
    }

    /** Where callers reach it. */
    String base() {
        return "http://127.0.0.1:" + daemon.port();
    }

    /** Deploys a bundle; returns the daemon's answer ({@code function}, {@code version}, …). */
    JsonNode deploy(Path bundle) throws IOException, InterruptedException {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(base() + "/v1/deployments"))
                .header("Authorization", "Bearer " + token)
                .POST(HttpRequest.BodyPublishers.ofFile(bundle)));
        JsonNode body = JSON.readTree(r.body());
        if (r.statusCode() >= 300) {
            StringBuilder why = new StringBuilder(body.path("message").asText(r.body()));
            body.path("problems").forEach(p -> why.append("\n  - ").append(p.asText()));
            throw new IOException("the bundle " + bundle + " was refused: " + why);
        }
        return body;
    }

    /** One call of the Invoke API. */
    HttpResponse<String> invoke(String function, byte[] event) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base() + "/2015-03-31/functions/" + function
                + "/invocations")).POST(HttpRequest.BodyPublishers.ofByteArray(event)));
    }

    /** A function's log lines after {@code after} (a line id), oldest first, and the id to ask after next. */
    Page logs(String function, long after) throws IOException, InterruptedException {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(base() + "/v1/functions/" + function
                + "/logs?limit=1000&after=" + after)).header("Authorization", "Bearer " + token).GET());
        JsonNode body = JSON.readTree(r.body());
        List<String> lines = new java.util.ArrayList<>();
        body.path("events").forEach(e -> lines.add(e.path("message").asText()));
        return new Page(lines, body.path("next").asLong(after));
    }

    record Page(List<String> lines, long next) {
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return http.send(request.timeout(Duration.ofMinutes(16)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Whether {@link #close} has begun (a Ctrl-C's shutdown hook may run it while a caller is still using it). */
    boolean closed() {
        return closed.get();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            daemon.close();
        } finally {
            sandbox.close();
            Trees.deleteQuietly(home);
        }
    }
}
