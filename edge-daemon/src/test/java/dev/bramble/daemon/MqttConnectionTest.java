package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** How brambled connects: MQTT 3.1.1, mutual TLS, an unreachable broker, and subscriptions following activation. */
class MqttConnectionTest {
    @TempDir
    Path tmp;

    private static JsonNode mqtt(TestDaemon d) {
        return d.get("/v1/status").json().path("mqtt");
    }

    private static void reading(MqttClient client, String sensor, double celsius) throws Exception {
        client.publish("sensors/" + sensor + "/temperature", ("{\"celsius\": " + celsius + "}").getBytes(), 1, false);
    }

    @Test
    void mqtt311RepliesOnTheManifestsReplyTopic() throws Exception {
        Mosquitto.Inbox inbox = new Mosquitto.Inbox();
        try (Mosquitto broker = Mosquitto.start(tmp.resolve("broker"));
             TestDaemon d = TestDaemon.start(tmp.resolve("data"), """
                     mqtt:
                       url: %s
                       protocol: "3.1.1"
                       client-id: bramble-v3-%d
                     """.formatted(broker.url(), System.nanoTime()))) {
            d.deployOk(Bundles.example("thermostat"));
            MqttClient client = broker.client("v3-test", inbox);
            client.subscribe("actuators/#", 1);
            await().atMost(20, SECONDS).until(() -> mqtt(d).path("subscriptions").has("sensors/+/temperature"));
            assertThat(mqtt(d).path("protocol").asText()).isEqualTo("3.1.1");
            reading(client, "garage", 30);
            await().atMost(20, SECONDS).until(() -> !inbox.on("actuators/garage/command").isEmpty());
            assertThat(inbox.on("actuators/garage/command").getFirst().json().path("command").asText())
                    .isEqualTo("cool");
            client.disconnect();
            client.close();
        }
    }

    @Test
    void mutualTlsConnectsWithAClientCertificateAndFailsWithoutOne() throws Exception {
        Path pki = Files2.pki(tmp.resolve("pki"));
        int tlsPort = Mosquitto.freePort();
        Mosquitto.Inbox inbox = new Mosquitto.Inbox();
        try (Mosquitto broker = Mosquitto.start(tmp.resolve("broker"), """
                listener %d 127.0.0.1
                cafile %s
                certfile %s
                keyfile %s
                require_certificate true
                """.formatted(tlsPort, pki.resolve("ca.pem"), pki.resolve("server.pem"), pki.resolve("server.key")));
             TestDaemon withCert = TestDaemon.start(tmp.resolve("data"), """
                     mqtt:
                       url: ssl://127.0.0.1:%d
                       client-id: bramble-tls-%d
                       tls:
                         ca-file: %s
                         cert-file: %s
                         key-file: %s
                     """.formatted(tlsPort, System.nanoTime(), pki.resolve("ca.pem"), pki.resolve("client.pem"),
                     pki.resolve("client.key")));
             TestDaemon withoutCert = TestDaemon.start(tmp.resolve("data2"), """
                     mqtt:
                       url: ssl://127.0.0.1:%d
                       client-id: bramble-tls-nocert-%d
                       reconnect-min-ms: 100
                       tls:
                         ca-file: %s
                     """.formatted(tlsPort, System.nanoTime(), pki.resolve("ca.pem")))) {
            withCert.deployOk(Bundles.example("thermostat"));
            MqttClient client = broker.client("tls-test", inbox); // the plain listener
            client.subscribe("actuators/#", 1);
            await().atMost(20, SECONDS).until(() -> mqtt(withCert).path("subscriptions").has("sensors/+/temperature"));
            reading(client, "loft", 10);
            await().atMost(20, SECONDS).until(() -> !inbox.on("actuators/loft/command").isEmpty());
            assertThat(inbox.on("actuators/loft/command").getFirst().json().path("command").asText())
                    .isEqualTo("heat");
            await().atMost(20, SECONDS).until(() -> !mqtt(withoutCert).path("lastError").asText().isEmpty());
            assertThat(mqtt(withoutCert).path("state").asText()).isNotEqualTo("connected");
            client.disconnect();
            client.close();
        }
    }

    @Test
    void aUsernameAndPasswordAreSentAndAWrongPasswordIsReported() throws Exception {
        Path passwords = tmp.resolve("passwd");
        Process p = new ProcessBuilder("mosquitto_passwd", "-c", "-b", passwords.toString(), "device-7", "s3cret")
                .redirectErrorStream(true).start();
        assertThat(p.waitFor()).as(new String(p.getInputStream().readAllBytes())).isZero();
        try (Mosquitto broker = Mosquitto.start(tmp.resolve("broker"), """
                allow_anonymous false
                password_file %s
                """.formatted(passwords));
             TestDaemon right = TestDaemon.start(tmp.resolve("data"), """
                     mqtt:
                       url: %s
                       client-id: bramble-auth-%d
                       username: device-7
                       password: s3cret
                     """.formatted(broker.url(), System.nanoTime()));
             TestDaemon wrong = TestDaemon.start(tmp.resolve("data2"), """
                     mqtt:
                       url: %s
                       client-id: bramble-auth-wrong-%d
                       username: device-7
                       password: guessed
                       reconnect-min-ms: 100
                     """.formatted(broker.url(), System.nanoTime()))) {
            right.deployOk(Bundles.example("thermostat"));
            await().atMost(20, SECONDS).until(() -> mqtt(right).path("subscriptions").has("sensors/+/temperature"));
            assertThat(mqtt(right).path("state").asText()).isEqualTo("connected");
            await().atMost(20, SECONDS).until(() -> !mqtt(wrong).path("lastError").asText().isEmpty());
            assertThat(mqtt(wrong).path("state").asText()).isNotEqualTo("connected");
            assertThat(mqtt(wrong).path("lastError").asText().toLowerCase()).contains("not authorized");
        }
    }

    @Test
    void anUnreachableBrokerStopsNothingAndNoUrlMeansInactive() {
        try (TestDaemon d = TestDaemon.start(tmp.resolve("data"), """
                mqtt:
                  url: tcp://127.0.0.1:%d
                  reconnect-min-ms: 50
                  reconnect-max-ms: 200
                """.formatted(Mosquitto.freePort()));
             TestDaemon none = TestDaemon.start(tmp.resolve("data2"), "")) {
            d.deployOk(Bundles.example("thermostat"));
            assertThat(d.invoke("thermostat", "{\"payload\": {\"celsius\": 20}}").json().path("command").asText())
                    .isEqualTo("idle");
            await().atMost(20, SECONDS).until(() -> mqtt(d).path("lastError").asText().contains("127.0.0.1")
                    || !mqtt(d).path("lastError").asText().isEmpty());
            assertThat(mqtt(d).path("state").asText()).isIn("connecting", "disconnected");

            none.deployOk(Bundles.example("thermostat"));
            assertThat(mqtt(none).path("state").asText()).isEqualTo("inactive");
            List<String> inactive = new ArrayList<>();
            for (JsonNode t : none.get("/v1/status").json().path("triggers")) {
                if (!t.path("active").asBoolean()) {
                    inactive.add(t.path("type").asText() + ": " + t.path("inactiveReason").asText());
                }
            }
            assertThat(inactive).containsExactlyInAnyOrder("mqtt: mqtt.url is not configured",
                    "coap: coap.port is not configured");
        }
    }

    @Test
    void subscriptionsFollowTheLiveAliasNotOtherAliases() throws IOException {
        try (Mosquitto broker = Mosquitto.start(tmp.resolve("broker"));
             TestDaemon d = TestDaemon.start(tmp.resolve("data"), """
                     mqtt:
                       url: %s
                       client-id: bramble-activation-%d
                     """.formatted(broker.url(), System.nanoTime()))) {
            d.deployOk(echoOn("a/#"));
            await().atMost(20, SECONDS).until(() -> mqtt(d).path("subscriptions").has("a/#"));
            d.deployOk(echoOn("b/#"));
            await().atMost(20, SECONDS).until(() -> mqtt(d).path("subscriptions").has("b/#")
                    && !mqtt(d).path("subscriptions").has("a/#"));
            TestDaemon.Response beta = d.deploy(echoOn("c/#"), "?alias=beta");
            assertThat(beta.status()).isEqualTo(201);
            await().during(1, SECONDS).atMost(5, SECONDS).until(() -> !mqtt(d).path("subscriptions").has("c/#"));
            JsonNode trigger = d.get("/v1/status").json().path("triggers").get(0);
            assertThat(trigger.path("version").asInt()).isEqualTo(2);
            assertThat(trigger.path("topic").asText()).isEqualTo("b/#");
        }
    }

    private Path echoOn(String topic) {
        return Bundles.withManifest(Bundles.example("echo"), tmp, """
                {"name": "echo", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo",
                 "triggers": [{"type": "mqtt", "topic": "%s"}]}""".formatted(topic));
    }

    /** A throw-away PKI made with openssl: a CA, a server certificate for 127.0.0.1 and a client certificate. */
    static final class Files2 {
        static Path pki(Path dir) throws Exception {
            java.nio.file.Files.createDirectories(dir);
            run(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                    "ca.pem", "-days", "2", "-subj", "/CN=bramble-test-ca");
            for (String who : List.of("server", "client")) {
                run(dir, "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                        who + ".key");
                run(dir, "openssl", "req", "-new", "-key", who + ".key", "-out", who + ".csr", "-subj",
                        "/CN=" + (who.equals("server") ? "127.0.0.1" : "bramble-device"));
                java.nio.file.Files.writeString(dir.resolve(who + ".ext"), who.equals("server")
                        ? "subjectAltName=IP:127.0.0.1\n" : "extendedKeyUsage=clientAuth\n");
                run(dir, "openssl", "x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                        "-CAcreateserial", "-out", who + ".pem", "-days", "2", "-extfile", who + ".ext");
            }
            return dir;
        }

        private static void run(Path dir, String... command) throws Exception {
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
        }
    }
}
