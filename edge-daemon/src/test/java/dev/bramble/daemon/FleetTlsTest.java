package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bramble.deployer.Deployer;
import dev.bramble.protocol.PemTls;
import dev.bramble.protocol.Signing;
import dev.bramble.testing.TestCa;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The fleet link over real TLS: a CA made with openssl, the deployer serving https from PEM files, a daemon whose
 * agent trusts that CA through agent.ca-file (enrolment, desired state, bundle download, reports and telemetry all
 * over https), one that does not trust it and gets nothing, and the CLI with and without --ca-file.
 */
class FleetTlsTest {
    private static final String ADMIN = "admin-token-for-the-tls-tests-012345";

    @TempDir
    Path tmp;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() {
        for (AutoCloseable c : open.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort
            }
        }
    }

    @Test
    void aDeviceThatTrustsTheFleetsCaFollowsItOverHttpsAndOneThatDoesNotGetsNothing() throws Exception {
        TestCa ca = TestCa.create(tmp.resolve("ca"), "fleet");
        Deployer deployer = TestDeployers.start(tmp, ADMIN, """
                tls:
                  cert-file: %s
                  key-file: %s
                """.formatted(ca.serverCert(), ca.serverKey()));
        open.add(deployer);
        String url = "https://127.0.0.1:" + deployer.port();
        HttpClient trusting = HttpClient.newBuilder().sslContext(PemTls.context(ca.caCert().toString(), "", ""))
                .build();

        // Plain http to the https port gets no answer, and a client with the JDK's CAs does not trust it.
        assertThatThrownBy(() -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url
                + "/v1/health")).build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
        assertThatThrownBy(() -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + deployer.port() + "/v1/health")).build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IOException.class);

        KeyPair author = Signing.generate();
        Path trusted = Files.createDirectories(tmp.resolve("trusted-keys"));
        Files.writeString(trusted.resolve("author.pub"), Signing.pem(author.getPublic()));
        assertThat(send(trusting, "POST", url + "/v1/signers", Map.of("name", "author", "publicKey",
                Signing.pem(author.getPublic()))).statusCode()).isEqualTo(201);

        TestDaemon pi = daemon("pi-tls", trusting, url, trusted, "ca-file: " + ca.caCert());
        TestDaemon stranger = daemon("pi-stranger", trusting, url, trusted, "");
        await("pi enrolled over https").atMost(30, SECONDS).until(() -> !deviceId(pi).isEmpty());

        Path bundle = Bundles.withManifest(Bundles.example("hello"), tmp, """
                {"name": "hello", "runtime": "java21", "handler": "dev.bramble.examples.hello.Hello",
                 "memoryMb": 96, "testEvents": []}""");
        byte[] zip = Files.readAllBytes(bundle);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(zip));
        HttpResponse<String> published = trusting.send(HttpRequest.newBuilder(URI.create(url + "/v1/functions"))
                .header("Authorization", "Bearer " + ADMIN)
                .header("X-Bramble-Signature", Signing.sign(sha, author.getPrivate(), author.getPublic()).toJson())
                .POST(HttpRequest.BodyPublishers.ofByteArray(zip)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(published.statusCode()).as(published.body()).isEqualTo(201);
        HttpResponse<String> deployed = send(trusting, "POST", url + "/v1/deployments", Map.of("function", "hello",
                "version", "1", "target", "group:tls"));
        assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(201);
        String id = TestDaemon.JSON.readTree(deployed.body()).path("id").asText();
        await("v1 live over https").atMost(60, SECONDS).until(() -> TestDaemon.liveSha(pi.base(), pi.token(), "hello")
                .equals(sha));
        await().atMost(20, SECONDS).until(() -> TestDaemon.JSON.readTree(send(trusting, "GET", url
                + "/v1/deployments/" + id, null).body()).path("state").asText().equals("succeeded"));
        // a log line to upload, besides the metric snapshots taken every second
        assertThat(pi.send("GET", "/fn/hello/?name=tls", null).text()).contains("tls");
        await("telemetry over https").atMost(30, SECONDS).until(() -> {
            JsonNode devices = TestDaemon.JSON.readTree(send(trusting, "GET", url + "/v1/devices", null).body());
            return !devices.at("/devices/0/telemetry").isMissingNode() && !devices.at("/devices/0/telemetry")
                    .isNull();
        });

        // The device that does not trust the CA never enrolled: it says why, and the deployer has one device.
        JsonNode agent = stranger.get("/v1/status").json().path("agent");
        assertThat(agent.path("deviceId").asText()).isEmpty();
        assertThat(agent.path("lastError").asText()).containsAnyOf("PKIX", "certificate");
        assertThat(TestDaemon.JSON.readTree(send(trusting, "GET", url + "/v1/devices", null).body())
                .path("devices")).hasSize(1);

        // The CLI: trusted with --ca-file, refused (exit 3, saying why) without it.
        assertThat(cli("--deployer", url, "--token", ADMIN, "--ca-file", ca.caCert().toString(), "functions",
                "list")).startsWith("0:");
        String untrusted = cli("--deployer", url, "--token", ADMIN, "functions", "list");
        assertThat(untrusted).startsWith("3:").contains("cannot trust " + url).contains("--ca-file");
    }

    private TestDaemon daemon(String name, HttpClient trusting, String url, Path trusted, String caLine)
            throws Exception {
        String token = TestDaemon.JSON.readTree(send(trusting, "POST", url + "/v1/enrolment-tokens",
                Map.of("group", "tls")).body()).path("token").asText();
        TestDaemon d = TestDaemon.start(tmp.resolve(name), TestDeployers.agentYaml(url, token, name, trusted, caLine)
                + """
                sync:
                  batch-max-age-ms: 200
                  metrics-interval-seconds: 1
                """);
        open.add(d);
        return d;
    }

    private static HttpResponse<String> send(HttpClient http, String method, String url, Object body)
            throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + ADMIN)
                .header("Content-Type", "application/json").method(method, body == null
                        ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(TestDaemon.JSON.writeValueAsBytes(body))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String deviceId(TestDaemon d) {
        return d.get("/v1/status").json().path("agent").path("deviceId").asText();
    }

    /** The exit code, a colon, and what the CLI wrote to stdout and stderr. */
    private static String cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = dev.bramble.cli.Bramble.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return exit + ":" + out + err;
    }
}
