package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bramble.deployer.Deployer;
import dev.bramble.protocol.Signing;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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
import java.security.KeyPair;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Deployments when things go wrong: the deployer away, a tampered bundle, a daemon killed in the middle. */
class DeploymentResilienceTest {
    private static final String ADMIN = "admin-token-for-resilience-tests-0123";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path tmp;
    private int port;
    private Deployer deployer;
    private KeyPair author;
    private Path trusted;

    @BeforeEach
    void start() throws Exception {
        deployer = startDeployer();
        author = Signing.generate();
        trusted = Files.createDirectories(tmp.resolve("trusted-keys"));
        Files.writeString(trusted.resolve("author.pub"), Signing.pem(author.getPublic()));
        admin("POST", "/v1/signers", Map.of("name", "author", "publicKey", Signing.pem(author.getPublic())));
    }

    @AfterEach
    void stop() {
        if (deployer != null) {
            deployer.close();
        }
    }

    /**
     * The deployer, on a port of its own choosing the first time and on the same one after (a restart, which may
     * find the port not yet free: it is retried).
     */
    private Deployer startDeployer() throws IOException {
        Path config = tmp.resolve("deployer.yaml");
        for (int attempt = 1; ; attempt++) {
            Files.writeString(config, """
                    data-dir: %s
                    http:
                      port: %d
                    admin:
                      token: %s
                    """.formatted(tmp.resolve("deployer"), port, ADMIN));
            try {
                Deployer started = Deployer.start(config);
                port = started.port();
                return started;
            } catch (IllegalStateException taken) {
                if (attempt >= 20 || !String.valueOf(taken.getMessage()).contains("cannot listen")) {
                    throw taken;
                }
                sleepQuietly(250);
            }
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private JsonNode admin(String method, String path, Object body) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .header("Authorization", "Bearer " + ADMIN).method(method, HttpRequest.BodyPublishers
                            .ofByteArray(TestDaemon.JSON.writeValueAsBytes(body))).build(),
                    HttpResponse.BodyHandlers.ofString());
            return TestDaemon.JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private String publish(Path zip) throws Exception {
        return publish(zip, null);
    }

    /** Publishes, with the URL devices fetch the bundle from (null: the deployer). */
    private String publish(Path zip, String url) throws Exception {
        HttpResponse<String> r = tryPublish(zip, url);
        assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
        return TestDaemon.JSON.readTree(r.body()).path("sha256").asText();
    }

    private HttpResponse<String> tryPublish(Path zip, String url) throws Exception {
        byte[] bytes = Files.readAllBytes(zip);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/functions"))
                .header("Authorization", "Bearer " + ADMIN)
                .header("X-Bramble-Signature", Signing.sign(sha, author.getPrivate(), author.getPublic()).toJson());
        if (url != null) {
            b.header("X-Bramble-Bundle-Url", url);
        }
        return HTTP.send(b.POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private String agentYaml(String name) {
        String token = admin("POST", "/v1/enrolment-tokens", Map.of("group", "lab")).path("token").asText();
        return """
                agent:
                  deployer-url: http://127.0.0.1:%d
                  enrolment-token: %s
                  device-name: %s
                  trusted-keys: %s
                  poll-wait-seconds: 2
                """.formatted(port, token, name, trusted);
    }

    private Path hello(String description) {
        return Bundles.withManifest(Bundles.example("hello"), tmp, """
                {"name": "hello", "runtime": "java21", "handler": "dev.bramble.examples.hello.Hello",
                 "memoryMb": 96, "description": "%s"}""".formatted(description));
    }

    /**
     * Starts a rollout. A device enrols from its agent's first poll, after the daemon is up: until then the target
     * matches no device and the deployer says so, so this waits for the deployment to be accepted.
     */
    private String deploy(String version, String target) {
        java.util.concurrent.atomic.AtomicReference<JsonNode> last = new java.util.concurrent.atomic.AtomicReference<>();
        await("the deployment accepted").atMost(30, SECONDS).until(() -> {
            last.set(admin("POST", "/v1/deployments", Map.of("function", "hello", "version", version, "target",
                    target)));
            return last.get().hasNonNull("id");
        });
        return last.get().path("id").asText();
    }

    private String deploymentState(String id) {
        return admin("GET", "/v1/deployments/" + id, Map.of()).path("state").asText();
    }

    @Test
    void whileTheDeployerIsDownDevicesKeepServingAndDeploymentsLandOnceItIsBack() throws Exception {
        try (TestDaemon d = TestDaemon.start(tmp.resolve("device"), agentYaml("pi-away"))) {
            String sha1 = publish(hello("v1"));
            deploy("1", "group:lab");
            await().atMost(60, SECONDS).until(() -> TestDaemon.liveSha(d.base(), d.token(), "hello").equals(sha1));

            deployer.close();
            await("the agent notices").atMost(30, SECONDS).until(() -> d.get("/v1/status").json().path("agent")
                    .path("state").asText().equals("unreachable"));
            assertThat(d.send("GET", "/fn/hello/?name=offline", null).text()).contains("offline");

            deployer = startDeployer(); // same port, same SQLite file
            String sha2 = publish(hello("v2"));
            String id = deploy("2", "group:lab");
            await("v2 lands").atMost(60, SECONDS).until(() -> TestDaemon.liveSha(d.base(), d.token(), "hello").equals(sha2));
            await().atMost(20, SECONDS).until(() -> deploymentState(id).equals("succeeded"));
            assertThat(d.send("GET", "/fn/hello/?name=back", null).text()).contains("back");
        }
    }

    @Test
    void bundlesComeFromAStockHttpOriginWhichIsNotTrustedAndABadOneFallsBackToTheDeployer() throws Exception {
        Path www = Files.createDirectories(tmp.resolve("www"));
        try (Nginx origin = Nginx.serve(tmp.resolve("nginx"), www);
             TestDaemon d = TestDaemon.start(tmp.resolve("device"), agentYaml("pi-cdn"))) {
            Path v1 = hello("v1");
            Files.copy(v1, www.resolve("hello-1.zip"));
            String sha1 = publish(v1, origin.url("/hello-1.zip"));
            String id1 = deploy("1", "group:lab");
            await("v1 from nginx").atMost(60, SECONDS).until(() -> TestDaemon.liveSha(d.base(), d.token(), "hello")
                    .equals(sha1));
            await().atMost(20, SECONDS).until(() -> deploymentState(id1).equals("succeeded"));
            assertThat(origin.accessLog()).contains("\"GET /hello-1.zip HTTP/1.1\" 200")
                    .doesNotContain("Authorization").doesNotContain("Bearer");

            // v2: the origin serves other, bigger bytes (a compromised or stale mirror). The device reads no more
            // than the desired size, refuses them, and takes the signed bundle from the deployer instead.
            Path v2 = hello("v2");
            Files.write(www.resolve("hello-2.zip"), Files.readAllBytes(hello("v2, and something the author never "
                    + "signed")));
            String sha2 = publish(v2, origin.url("/hello-2.zip"));
            String id2 = deploy("2", "group:lab");
            await("v2 from the deployer").atMost(60, SECONDS).until(() -> TestDaemon.liveSha(d.base(), d.token(),
                    "hello").equals(sha2));
            await().atMost(20, SECONDS).until(() -> deploymentState(id2).equals("succeeded"));
            assertThat(origin.accessLog()).contains("GET /hello-2.zip");

            // An origin that lost the file (404) is no stop either; and a URL carrying credentials is refused.
            Path v3 = hello("v3");
            String sha3 = publish(v3, origin.url("/gone.zip"));
            deploy("3", "group:lab");
            await("v3 from the deployer").atMost(60, SECONDS).until(() -> TestDaemon.liveSha(d.base(), d.token(),
                    "hello").equals(sha3));
            HttpResponse<String> secret = tryPublish(hello("v4"), "https://user:pass@cdn.example/x.zip");
            assertThat(secret.statusCode()).isEqualTo(400);
            assertThat(secret.body()).contains("credentials in the URL would be handed to every device");
            HttpResponse<String> ftp = tryPublish(hello("v4"), "ftp://cdn.example/x.zip");
            assertThat(ftp.body()).contains("use an absolute http:// or https:// URL");
        }
    }

    @Test
    void aBundleTamperedWithWhereItIsServedIsRefusedByTheDevice() throws Exception {
        try (TestDaemon d = TestDaemon.start(tmp.resolve("device"), agentYaml("pi-careful"))) {
            String sha = publish(hello("v1"));
            // The stored bytes change behind the deployer's back, as on a compromised disk or mirror.
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + tmp.resolve("deployer/deployer.db"));
                 PreparedStatement s = c.prepareStatement("UPDATE bundles SET content = ? WHERE sha256 = ?")) {
                byte[] bytes = Files.readAllBytes(hello("v1-evil"));
                s.setBytes(1, bytes);
                s.setString(2, sha);
                assertThat(s.executeUpdate()).isEqualTo(1);
            }
            String id = deploy("1", "group:lab");
            await().atMost(60, SECONDS).until(() -> deploymentState(id).equals("halted"));
            JsonNode device = admin("GET", "/v1/deployments/" + id, Map.of()).path("devices").get(0);
            assertThat(device.path("errorCode").asText()).isEqualTo("DIGEST_MISMATCH");
            assertThat(d.get("/v1/functions/hello").status()).isEqualTo(404);
        }
    }

    @Test
    void aPartialDownloadLeftByAPreviousRunIsResumedNotStartedOver() throws Exception {
        Path bundle = hello("v1");
        String sha = publish(bundle);
        byte[] bytes = Files.readAllBytes(bundle);
        // What a previous run left: the first half of the file, except that its bytes are not the bundle's. A resumed
        // download keeps them and appends the rest, so the digest check catches it; a fresh one would succeed.
        Path incoming = Files.createDirectories(tmp.resolve("device/incoming"));
        Files.write(incoming.resolve(sha + ".part"), new byte[bytes.length / 2]);
        try (TestDaemon d = TestDaemon.start(tmp.resolve("device"), agentYaml("pi-resuming"))) {
            String id = deploy("1", "group:lab");
            await().atMost(60, SECONDS).until(() -> deploymentState(id).equals("halted"));
            assertThat(admin("GET", "/v1/deployments/" + id, Map.of()).path("devices").get(0).path("errorCode")
                    .asText()).isEqualTo("DIGEST_MISMATCH");
            assertThat(incoming.resolve(sha + ".part")).doesNotExist(); // a bad partial file is not kept
            // The next rollout downloads from the start and succeeds.
            String again = deploy("1", "group:lab");
            await().atMost(60, SECONDS).until(() -> TestDaemon.liveSha(d.base(), d.token(), "hello").equals(sha));
            await().atMost(20, SECONDS).until(() -> deploymentState(again).equals("succeeded"));
        }
    }

    @Test
    void aDaemonKilledInTheMiddleOfADeploymentEndsItAfterItsRestart() throws Exception {
        DaemonProcess.Install install = DaemonProcess.Install.inTmp();
        Path data = install.root().resolve("data");
        String yaml = agentYaml("pi-killed") + """
                runtime:
                  class-data-archives: false
                sandbox:
                  cgroup-name: bramble-agent-kill9-%d
                """.formatted(ProcessHandle.current().pid());
        // The smoke test takes seconds: the daemon is killed while it runs.
        String sha = publish(Bundles.withManifest(Bundles.example("misbehave"), tmp, """
                {"name": "hello", "runtime": "java21", "handler": "dev.bramble.examples.misbehave.Misbehave",
                 "memoryMb": 96, "timeoutSeconds": 30, "testEvents": [{"sleepMs": 3000}]}"""));
        DaemonProcess first = DaemonProcess.start(install, data, yaml, List.of(), false);
        String id;
        try {
            id = deploy("1", "group:lab");
            await("the smoke test is running").atMost(60, SECONDS).until(() -> status(first).path("agent")
                    .path("state").asText().startsWith("deploying"));
            Thread.sleep(500);
        } finally {
            first.process().destroyForcibly();
            first.process().waitFor(10, SECONDS);
        }
        assertThat(deploymentState(id)).isEqualTo("in_progress");
        try (DaemonProcess second = DaemonProcess.start(install, data, yaml, List.of(), false)) {
            await("the deployment ends").atMost(90, SECONDS).until(() -> !deploymentState(id).equals("in_progress"));
            assertThat(deploymentState(id)).isEqualTo("succeeded");
            assertThat(TestDaemon.liveSha(second.base(), second.token(), "hello")).isEqualTo(sha);
        }
    }

    private static JsonNode status(DaemonProcess d) throws Exception {
        return d.status();
    }
}
