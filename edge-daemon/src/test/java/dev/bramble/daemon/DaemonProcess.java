package dev.bramble.daemon;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.awaitility.Awaitility.await;

/**
 * brambled as a separate process, started from a copy of its classpath that any user can read, so a test can
 * kill it with SIGKILL or run it as another user.
 */
final class DaemonProcess implements AutoCloseable {
    private final Process process;
    private final int port;
    private final Path log;
    private final Path dataDir;

    private DaemonProcess(Process process, int port, Path log, Path dataDir) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.dataDir = dataDir;
    }

    /** A world-readable directory holding the daemon's and the runtime's classpaths. */
    record Install(Path root, String daemonClasspath, String runtimeClasspath) {
        /** A copy under /tmp: /tmp itself is world-writable, so an unprivileged user can read it too. */
        static Install inTmp() throws IOException {
            return copy(Files.createTempDirectory(Path.of("/tmp"), "bramble-install-"));
        }

        static Install copy(Path root) throws IOException {
            Files.createDirectories(root);
            open(root);
            return new Install(root, stage(System.getProperty("bramble.test.daemon.classpath"), root.resolve("lib")),
                    stage(System.getProperty("bramble.test.runtime.classpath"), root.resolve("runtime")));
        }

        private static String stage(String classpath, Path dir) throws IOException {
            Files.createDirectories(dir);
            open(dir);
            List<String> out = new ArrayList<>();
            int n = 0;
            for (String entry : classpath.split(":")) {
                Path from = Path.of(entry);
                if (entry.isBlank() || !Files.exists(from)) {
                    continue;
                }
                Path to = dir.resolve(n++ + "-" + from.getFileName());
                if (Files.isDirectory(from)) {
                    try (Stream<Path> files = Files.walk(from)) {
                        for (Path p : files.toList()) {
                            Path dest = to.resolve(from.relativize(p).toString());
                            if (Files.isDirectory(p)) {
                                Files.createDirectories(dest);
                                open(dest);
                            } else {
                                Files.copy(p, dest, StandardCopyOption.REPLACE_EXISTING);
                                readable(dest);
                            }
                        }
                    }
                } else {
                    Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
                    readable(to);
                }
                out.add(to.toString());
            }
            return String.join(":", out);
        }
    }

    /**
     * Starts brambled with this YAML (port and classpaths are added), optionally under {@code setpriv} as another
     * user, and waits until it is healthy (unless {@code expectFailure}).
     */
    static DaemonProcess start(Install install, Path dataDir, String yaml, List<String> asUser, boolean expectFailure)
            throws IOException {
        return start(install, dataDir, yaml, asUser, List.of(testJava()), expectFailure);
    }

    /**
     * Starts brambled as above, with {@code java} (an executable and its JVM options) as the command that runs it.
     */
    static DaemonProcess start(Install install, Path dataDir, String yaml, List<String> asUser, List<String> java,
                               boolean expectFailure) throws IOException {
        return start(install, dataDir, yaml, asUser, java, Map.of(), expectFailure);
    }

    /** As above, with {@code env} added to brambled's environment (what systemd would set). */
    static DaemonProcess start(Install install, Path dataDir, String yaml, List<String> asUser, List<String> java,
                               Map<String, String> env, boolean expectFailure) throws IOException {
        // A port found free and released may be taken by another server before brambled binds it; brambled then
        // exits 4 (a listener that cannot bind) and is started again on another.
        for (int attempt = 1; ; attempt++) {
            DaemonProcess d = startOnce(install, dataDir, yaml, asUser, java, env, expectFailure);
            if (expectFailure || attempt >= 5 || d.process.isAlive() || d.process.exitValue() != 4
                    || !d.log().contains("http.port")) {
                if (!expectFailure && !d.process.isAlive()) {
                    throw new AssertionError("brambled exited: " + d.log());
                }
                return d;
            }
        }
    }

    private static DaemonProcess startOnce(Install install, Path dataDir, String yaml, List<String> asUser,
                                           List<String> java, Map<String, String> env,
                                           boolean expectFailure) throws IOException {
        int port = freePort();
        Path config = install.root().resolve("brambled-" + port + ".yaml");
        Files.writeString(config, TestDaemon.merge("""
                data-dir: %s
                http:
                  port: %d
                runtime:
                  classpath: "%s"
                security:
                  allow-unsigned: true
                """.formatted(dataDir, port, install.runtimeClasspath()), yaml));
        readable(config);
        Path log = install.root().resolve("brambled-" + port + ".log");
        List<String> command = new ArrayList<>(asUser);
        command.addAll(java);
        command.addAll(List.of("-cp", install.daemonClasspath(), "dev.bramble.daemon.Main", "--config", config.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        DaemonProcess d = new DaemonProcess(p, port, log, dataDir);
        if (!expectFailure) {
            await("brambled on port " + port).atMost(30, SECONDS).until(() -> !p.isAlive() || d.healthy());
        }
        return d;
    }

    /** The java of the JVM running the tests. */
    static String testJava() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    Process process() {
        return process;
    }

    String base() {
        return "http://127.0.0.1:" + port;
    }

    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** The admin token the daemon generated into its data directory (root reads it, as the device's CLI does). */
    String token() throws IOException {
        return Files.readString(dataDir.resolve("admin.token")).strip();
    }

    /** GET /v1/status. */
    com.fasterxml.jackson.databind.JsonNode status() throws IOException, InterruptedException {
        return TestDaemon.JSON.readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base()
                + "/v1/status")).header("Authorization", "Bearer " + token()).build(),
                HttpResponse.BodyHandlers.ofString()).body());
    }

    /** GET a route with the admin token: its body. */
    String get(String path) throws IOException {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base() + path))
                    .header("Authorization", "Bearer " + token()).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    /** POST a body, with the admin token; an interrupted call is an IOException, like the daemon dying under it. */
    HttpResponse<String> post(String path, byte[] body) throws IOException {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base() + path))
                    .header("Authorization", "Bearer " + token())
                    .timeout(Duration.ofSeconds(90)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    boolean healthy() {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base() + "/v1/health"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(15, SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void open(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    }

    private static void readable(Path file) throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
