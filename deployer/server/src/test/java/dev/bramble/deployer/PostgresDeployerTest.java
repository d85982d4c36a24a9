package dev.bramble.deployer;

import com.fasterxml.jackson.databind.JsonNode;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The same tests on a real PostgreSQL, as a fleet runs it, and what only replicas over one database can show. */
class PostgresDeployerTest extends DeployerTests {
    private static Postgres postgres;

    @BeforeAll
    static void start() throws Exception {
        postgres = Postgres.start();
        startDeployer(postgres.url() + "?user=bramble");
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    void aLongPollOnOneReplicaWakesAtOnceWhenAnotherChangesTheDesiredState() throws Exception {
        try (Deployer b = replica("b")) {
            KeyPair key = signer();
            String fn = unique("hello");
            publish(Files.readAllBytes(bundle(fn, 1)), key);
            String group = unique("replicas");
            String[] device = enrol(group);
            long revision = desired(device).path("revision").asLong();
            CompletableFuture<Response> poll = CompletableFuture.supplyAsync(() -> callOn(b.port(), "GET",
                    "/v1/devices/" + device[0] + "/desired?after=" + revision + "&wait=25", device[1], null));
            Thread.sleep(1_000); // the long-poll is parked on replica b
            assertThat(poll).isNotDone();
            long start = System.nanoTime();
            Response deployed = json("POST", "/v1/deployments", ADMIN, Map.of("function", fn, "target",
                    "group:" + group)); // on replica a
            assertThat(deployed.status()).as(deployed.text()).isEqualTo(201);
            JsonNode woken = poll.get(20, TimeUnit.SECONDS).json();
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(woken.path("revision").asLong()).isGreaterThan(revision);
            assertThat(woken.path("functions").get(0).path("function").asText()).isEqualTo(fn);
            // NOTIFY, not the backstop's look every 15 s (nor the 1 s poll there was before)
            assertThat(took).isLessThan(Duration.ofSeconds(3));
        }
    }

    @Test
    void twoReplicasBehindTheShippedHaproxyServeADeviceOverTlsAndOneMayGo() throws Exception {
        dev.bramble.testing.TestCa ca = dev.bramble.testing.TestCa.create(dir.resolve("lb-tls"), "lb");
        Path pem = dir.resolve("lb-tls/haproxy.pem");
        Files.writeString(pem, Files.readString(ca.serverCert()) + Files.readString(ca.serverKey()));
        HttpClient tls = HttpClient.newBuilder().sslContext(dev.bramble.protocol.PemTls.context(
                ca.caCert().toString(), "", "")).connectTimeout(Duration.ofSeconds(5)).build();
        HttpClient plain = HttpClient.newHttpClient(); // offers an h2c upgrade on plain http, as the agent does
        Deployer c = replica("c");
        try (Haproxy lb = Haproxy.start(dir, pem, java.util.List.of(deployer.port(), c.port()))) {
            String https = "https://localhost:" + lb.tlsPort;
            String http = "http://127.0.0.1:" + lb.plainPort;
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> send(tls, https + "/v1/health", null,
                    null).statusCode() == 200);
            KeyPair key = signer();
            String fn = unique("hello");
            byte[] zip = Files.readAllBytes(bundle(fn, 1));
            publish(zip, key);
            String group = unique("balanced");
            Response token = json("POST", "/v1/enrolment-tokens", ADMIN, Map.of("group", group, "uses", 1));
            HttpResponse<String> enrolled = send(tls, https + "/v1/enrol", null, JSON.writeValueAsString(Map.of(
                    "token", token.json().path("token").asText(), "name", unique("pi"))));
            assertThat(enrolled.statusCode()).as(enrolled.body()).isEqualTo(201);
            assertThat(enrolled.version()).as("TLS and ALPN end at HAProxy").isEqualTo(HttpClient.Version.HTTP_2);
            String id = JSON.readTree(enrolled.body()).path("deviceId").asText();
            String device = JSON.readTree(enrolled.body()).path("deviceToken").asText();

            // A long-poll through each frontend, parked on whichever replica HAProxy chose; a deploy through the
            // load balancer wakes both at once.
            CompletableFuture<HttpResponse<String>> overTls = CompletableFuture.supplyAsync(() -> send(tls, https
                    + "/v1/devices/" + id + "/desired?after=0&wait=25", device, null));
            CompletableFuture<HttpResponse<String>> overPlain = CompletableFuture.supplyAsync(() -> send(plain,
                    http + "/v1/devices/" + id + "/desired?after=0&wait=25", device, null));
            Thread.sleep(1_000);
            assertThat(overTls).isNotDone();
            assertThat(overPlain).isNotDone();
            HttpResponse<String> deployed = send(tls, https + "/v1/deployments", ADMIN, JSON.writeValueAsString(
                    Map.of("function", fn, "target", "group:" + group)));
            assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(201);
            String deployment = JSON.readTree(deployed.body()).path("id").asText();
            JsonNode woken = JSON.readTree(overTls.get(5, TimeUnit.SECONDS).body());
            assertThat(JSON.readTree(overPlain.get(5, TimeUnit.SECONDS).body()).path("revision").asLong())
                    .isEqualTo(woken.path("revision").asLong()).isPositive();
            JsonNode f = woken.path("functions").get(0);
            assertThat(f.path("deployment").asText()).isEqualTo(deployment);

            // The bundle in two ranges through the load balancer, byte for byte.
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            for (String range : new String[]{"bytes=0-99", "bytes=100-"}) {
                HttpResponse<byte[]> part = tls.send(HttpRequest.newBuilder(URI.create(https + f.path("url")
                        .asText())).header("Authorization", "Bearer " + device).header("Range", range).build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                assertThat(part.statusCode()).isEqualTo(206);
                got.write(part.body());
            }
            assertThat(got.toByteArray()).isEqualTo(zip);
            HttpResponse<String> reported = send(tls, https + "/v1/devices/" + id + "/reports", device,
                    JSON.writeValueAsString(Map.of("deployment", deployment, "state", "succeeded")));
            assertThat(reported.statusCode()).as(reported.body()).isEqualTo(200);
            assertThat(call("GET", "/v1/deployments/" + deployment, ADMIN, null).json().path("state").asText())
                    .isEqualTo("succeeded");

            // One replica goes away: HAProxy sends every request to the other, none is lost.
            c.close();
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> r = send(tls, https + "/v1/devices/" + id + "/desired", device, null);
                assertThat(r.statusCode()).as("request " + i + " after a replica stopped: " + r.body())
                        .isEqualTo(200);
            }
        } finally {
            c.close();
        }
    }

    /** Another replica over the same PostgreSQL, on a port of its own, with long-polls up to 30 s. */
    private static Deployer replica(String name) throws java.io.IOException {
        Path config = dir.resolve("replica-" + name + ".yaml");
        Files.writeString(config, """
                data-dir: %s
                http:
                  port: 0
                database:
                  url: "%s"
                admin:
                  token: %s
                long-poll:
                  max-seconds: 30
                """.formatted(dir.resolve("replica-" + name), postgres.url() + "?user=bramble", ADMIN));
        return Deployer.start(DeployerConfig.load(config), Clock.systemUTC());
    }

    private static HttpResponse<String> send(HttpClient client, String url, String token, String json) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (json != null) {
            b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
        }
        try {
            return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
