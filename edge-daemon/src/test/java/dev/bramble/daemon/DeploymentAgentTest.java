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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real deployer (SQLite) and two real daemons whose agents follow it: signed versions published, rolled out to a
 * group, a failing canary halted with the device back on its version, an untrusted signature refused on the device.
 */
class DeploymentAgentTest {
    private static final String ADMIN = "admin-token-for-agent-tests-0123456789";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path tmp;
    private Deployer deployer;
    private TestDaemon a;
    private TestDaemon b;
    private KeyPair author;

    @BeforeEach
    void start() throws Exception {
        deployer = TestDeployers.start(tmp, ADMIN, "");
        author = Signing.generate();
        Path trusted = Files.createDirectories(tmp.resolve("trusted-keys"));
        Files.writeString(trusted.resolve("author.pub"), Signing.pem(author.getPublic()));
        assertThat(admin("POST", "/v1/signers", Map.of("name", "author", "publicKey",
                Signing.pem(author.getPublic()))).statusCode()).isEqualTo(201);
        a = daemon("a", trusted);
        b = daemon("b", trusted);
        await("both devices enrolled").atMost(30, SECONDS).until(() -> !deviceId(a).isEmpty()
                && !deviceId(b).isEmpty());
    }

    @AfterEach
    void stop() {
        for (AutoCloseable c : new AutoCloseable[]{a, b, deployer}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // best effort
            }
        }
    }

    private TestDaemon daemon(String name, Path trusted) throws IOException {
        String token = TestDaemon.JSON.readTree(admin("POST", "/v1/enrolment-tokens", Map.of("group", "lab"))
                .body()).path("token").asText();
        return TestDaemon.start(tmp.resolve("device-" + name), TestDeployers.agentYaml("http://127.0.0.1:"
                + deployer.port(), token, "pi-" + name, trusted, ""));
    }

    private HttpResponse<String> admin(String method, String path, Object body) {
        try {
            byte[] bytes = body instanceof byte[] raw ? raw : TestDaemon.JSON.writeValueAsBytes(body);
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + deployer.port() + path))
                    .header("Authorization", "Bearer " + ADMIN).method(method,
                            HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private HttpResponse<String> publish(Path zip, KeyPair key) throws Exception {
        byte[] bytes = Files.readAllBytes(zip);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + deployer.port() + "/v1/functions"))
                .header("Authorization", "Bearer " + ADMIN)
                .header("X-Bramble-Signature", Signing.sign(sha, key.getPrivate(), key.getPublic()).toJson())
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String deviceId(TestDaemon d) {
        return d.get("/v1/status").json().path("agent").path("deviceId").asText();
    }

    private static String liveSha(TestDaemon d, String function) {
        return TestDaemon.liveSha(d.base(), d.token(), function);
    }

    private JsonNode deployment(String id) throws IOException {
        return TestDaemon.JSON.readTree(admin("GET", "/v1/deployments/" + id, new byte[0]).body());
    }

    private String cli(String... args) {
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        String[] all = new String[args.length + 4];
        System.arraycopy(new String[]{"--deployer", "http://127.0.0.1:" + deployer.port(), "--token", ADMIN}, 0, all,
                0, 4);
        System.arraycopy(args, 0, all, 4, args.length);
        int exit = dev.bramble.cli.Bramble.run(all, new java.io.PrintWriter(out, true),
                new java.io.PrintWriter(err, true));
        assertThat(exit).as(String.join(" ", args) + ": " + err).isZero();
        return out.toString();
    }

    private Path hello(String testEvents, String description) {
        return Bundles.withManifest(Bundles.example("hello"), tmp, """
                {"name": "hello", "runtime": "java21", "handler": "dev.bramble.examples.hello.Hello",
                 "memoryMb": 96, "description": "%s", "testEvents": %s}""".formatted(description, testEvents));
    }

    @Test
    void aSignedVersionGoesLiveOnAGroupAndAFailingCanaryIsHaltedAndRolledBack() throws Exception {
        // The operator's path, through the CLI: keys, sign, register the signer, publish, deploy.
        String event = "[{\"rawPath\": \"/\", \"queryStringParameters\": {\"name\": \"smoke\"}}]";
        Path bundle = hello(event, "v1");
        Path key = tmp.resolve("operator");
        cli("keys", "generate", key.toString());
        Files.copy(Path.of(key + ".pub"), tmp.resolve("trusted-keys/operator.pub"));
        cli("bundle", "sign", bundle.toString(), "--key", key + ".key");
        cli("signers", "add", "operator", "--key", key + ".pub");
        JsonNode v1 = TestDaemon.JSON.readTree(cli("--json", "publish", bundle.toString()));
        String sha1 = v1.path("sha256").asText();
        String id1 = TestDaemon.JSON.readTree(cli("--json", "deploy", "hello:1", "--to", "group:lab"))
                .path("id").asText();
        await("v1 live on both").atMost(60, SECONDS).until(() -> liveSha(a, "hello").equals(sha1)
                && liveSha(b, "hello").equals(sha1));
        for (TestDaemon d : new TestDaemon[]{a, b}) {
            assertThat(d.send("GET", "/fn/hello/?name=Pi", null).text()).contains("Pi");
        }
        await().atMost(20, SECONDS).until(() -> deployment(id1).path("state").asText().equals("succeeded"));

        // v2 is the misbehave handler under hello's name: its smoke test throws.
        Path broken = Bundles.withManifest(Bundles.example("misbehave"), tmp, """
                {"name": "hello", "runtime": "java21", "handler": "dev.bramble.examples.misbehave.Misbehave",
                 "memoryMb": 96, "testEvents": [{"throw": "broken build"}]}""");
        assertThat(publish(broken, author).statusCode()).isEqualTo(201);
        HttpResponse<String> d2 = admin("POST", "/v1/deployments", Map.of("function", "hello", "version", "2",
                "target", "group:lab", "canary", 1));
        String id2 = TestDaemon.JSON.readTree(d2.body()).path("id").asText();
        await("the canary fails").atMost(60, SECONDS).until(() -> deployment(id2).path("state").asText()
                .equals("halted"));
        JsonNode status = deployment(id2);
        assertThat(status.path("devices").get(0).path("errorCode").asText()).isEqualTo("SMOKE_TEST_FAILED");
        assertThat(status.path("devices").get(0).path("error").asText()).contains("broken build");
        assertThat(status.path("devices").get(1).path("state").asText()).isEqualTo("skipped");
        for (TestDaemon d : new TestDaemon[]{a, b}) {
            assertThat(liveSha(d, "hello")).isEqualTo(sha1);
            assertThat(d.send("GET", "/fn/hello/?name=still", null).text()).contains("still");
        }
    }

    @Test
    void anUndeployTakesTheFunctionOffEveryDeviceWhichSaysSoAndARollbackBringsItBack() throws Exception {
        assertThat(publish(hello("[]", "v1"), author).statusCode()).isEqualTo(201);
        String id1 = TestDaemon.JSON.readTree(cli("--json", "deploy", "hello:1", "--to", "group:lab")).path("id")
                .asText();
        await("v1 succeeded").atMost(60, SECONDS).until(() -> deployment(id1).path("state").asText()
                .equals("succeeded"));
        for (TestDaemon d : new TestDaemon[]{a, b}) {
            assertThat(d.send("GET", "/fn/hello/?name=Pi", null).text()).contains("Pi");
        }
        long pid = a.get("/v1/functions/hello").json().path("environments").path(0).path("pid").asLong();
        assertThat(pid).isPositive();

        // The CLI's undeploy, followed to its end: exit 0 once both devices said the function is gone.
        String out = cli("undeploy", "hello", "--to", "group:lab", "--wait");
        assertThat(out).contains("hello:none").contains("2/2 succeeded");
        for (TestDaemon d : new TestDaemon[]{a, b}) {
            assertThat(d.get("/v1/functions/hello").status()).isEqualTo(404);
            assertThat(d.send("GET", "/fn/hello/?name=gone", null).status()).isEqualTo(404);
            assertThat(d.dataDir().resolve("functions/hello")).doesNotExist();
        }
        await("the environment's JVM stopped").atMost(15, SECONDS).until(() -> ProcessHandle.of(pid)
                .map(p -> !p.isAlive()).orElse(true));
        JsonNode undeploy = TestDaemon.JSON.readTree(admin("GET", "/v1/deployments", new byte[0]).body())
                .path("deployments").get(0);
        assertThat(undeploy.path("undeploy").asBoolean()).isTrue();

        // Rolled back, the function comes back on both at the version they had.
        cli("rollback", undeploy.path("id").asText());
        await("hello is back").atMost(60, SECONDS).until(() -> a.get("/v1/functions/hello").status() == 200
                && b.get("/v1/functions/hello").status() == 200);
        assertThat(a.send("GET", "/fn/hello/?name=back", null).text()).contains("back");
    }

    private static String storedToken(TestDaemon d) throws Exception {
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + d.dataDir()
                .resolve("state.db")); var rs = c.createStatement().executeQuery("SELECT token FROM agent_identity")) {
            return rs.next() ? rs.getString(1) : "";
        }
    }

    @Test
    void aDeviceRotatesItsTokenWithoutEnrollingAgainAndTheOldTokenStopsWorking() throws Exception {
        String id = deviceId(a);
        String old = storedToken(a);
        assertThat(old).startsWith("dev_");
        cli("devices", "rotate-token", id);
        await("the device moved to a new token").atMost(30, SECONDS).until(() -> !storedToken(a).equals(old)
                && TestDaemon.JSON.readTree(admin("GET", "/v1/devices/" + id, new byte[0]).body()).path("token")
                .path("rotation").isNull());
        HttpResponse<String> withOld = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + deployer.port() + "/v1/devices/" + id + "/desired")).header("Authorization", "Bearer " + old)
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(withOld.statusCode()).isEqualTo(401);
        assertThat(deviceId(a)).as("the same device, not a new enrolment").isEqualTo(id);

        // It goes on following the deployer with the new token.
        assertThat(publish(hello("[]", "after rotation"), author).statusCode()).isEqualTo(201);
        String deployment = TestDaemon.JSON.readTree(admin("POST", "/v1/deployments", Map.of("function", "hello",
                "version", "1", "target", "device:" + id)).body()).path("id").asText();
        await("deployed with the new token").atMost(60, SECONDS).until(() -> deployment(deployment).path("state")
                .asText().equals("succeeded"));
        // the deployer counts the report before the agent has read the answer to it
        await("following again").atMost(10, SECONDS).until(() -> a.get("/v1/status").json().path("agent")
                .path("state").asText().equals("following"));
    }

    @Test
    void aBundleSignedByAKeyTheDeviceDoesNotTrustIsRefusedOnTheDevice() throws Exception {
        // The deployer trusts this key; the devices' trusted-keys directory does not hold it.
        KeyPair other = Signing.generate();
        admin("POST", "/v1/signers", Map.of("name", "contractor", "publicKey", Signing.pem(other.getPublic())));
        assertThat(publish(hello("[]", "contractor's"), other).statusCode()).isEqualTo(201);
        String id = TestDaemon.JSON.readTree(admin("POST", "/v1/deployments", Map.of("function", "hello",
                "version", "1", "target", "device:" + deviceId(a))).body()).path("id").asText();
        await().atMost(60, SECONDS).until(() -> deployment(id).path("state").asText().equals("halted"));
        assertThat(deployment(id).path("devices").get(0).path("errorCode").asText()).isEqualTo("UNTRUSTED_KEY");
        assertThat(a.get("/v1/functions/hello").status()).isEqualTo(404);
        assertThat(new String(Files.readAllBytes(tmp.resolve("trusted-keys/author.pub")), StandardCharsets.UTF_8))
                .startsWith("-----BEGIN PUBLIC KEY-----");
    }
    @Test
    void aRevokedDeviceIsCutOffSkippedByRolloutsAndEnrolsAgainWithANewToken() throws Exception {
        assertThat(publish(hello("[]", "v1"), author).statusCode()).isEqualTo(201);
        String id1 = TestDaemon.JSON.readTree(admin("POST", "/v1/deployments", Map.of("function", "hello",
                "version", "1", "target", "group:lab")).body()).path("id").asText();
        await().atMost(60, SECONDS).until(() -> deployment(id1).path("state").asText().equals("succeeded"));
        String sha1 = liveSha(a, "hello");
        String oldId = deviceId(a);
        Path dataA = tmp.resolve("device-a");
        a.close(); // a is off the network: a rollout to the group waits on it

        assertThat(publish(hello("[]", "v2"), author).statusCode()).isEqualTo(201);
        String id2 = TestDaemon.JSON.readTree(admin("POST", "/v1/deployments", Map.of("function", "hello",
                "version", "2", "target", "group:lab")).body()).path("id").asText();
        await("b reports v2").atMost(60, SECONDS).until(() -> deployment(id2).path("counts").path("succeeded")
                .asInt() == 1);
        assertThat(deployment(id2).path("state").asText()).isEqualTo("in_progress");

        cli("devices", "revoke", oldId);
        JsonNode after = deployment(id2);
        assertThat(after.path("state").asText()).as(after.toString()).isEqualTo("succeeded");
        JsonNode skipped = null;
        for (JsonNode d : after.path("devices")) {
            if (d.path("device").asText().equals(oldId)) {
                skipped = d;
            }
        }
        assertThat(skipped).as(after.toString()).isNotNull();
        assertThat(skipped.path("state").asText()).isEqualTo("skipped");
        assertThat(skipped.path("errorCode").asText()).isEqualTo("REVOKED");
        // and no new rollout waits on it
        String id3 = TestDaemon.JSON.readTree(admin("POST", "/v1/deployments", Map.of("function", "hello",
                "version", "1", "target", "group:lab")).body()).path("id").asText();
        assertThat(deployment(id3).path("devices")).hasSize(1);

        // The device comes back with its old token and a new enrolment token from the operator: told it is
        // revoked, it forgets the old identity and enrols again; what it ran kept running throughout.
        String fresh = TestDaemon.JSON.readTree(admin("POST", "/v1/enrolment-tokens", Map.of("group", "lab"))
                .body()).path("token").asText();
        a = TestDaemon.start(dataA, TestDeployers.agentYaml("http://127.0.0.1:" + deployer.port(), fresh, "pi-a",
                tmp.resolve("trusted-keys"), ""));
        assertThat(a.send("GET", "/fn/hello/?name=revoked", null).text()).contains("revoked");
        await("a enrolled again").atMost(30, SECONDS).until(() -> {
            String now = deviceId(a);
            return !now.isEmpty() && !now.equals(oldId);
        });
        assertThat(liveSha(a, "hello")).isEqualTo(sha1);
        JsonNode devices = TestDaemon.JSON.readTree(admin("GET", "/v1/devices", new byte[0]).body()).path("devices");
        for (JsonNode d : devices) {
            boolean old = d.path("id").asText().equals(oldId);
            assertThat(d.path("revokedAt").isNull()).as(d.toString()).isEqualTo(!old);
        }
    }
}
