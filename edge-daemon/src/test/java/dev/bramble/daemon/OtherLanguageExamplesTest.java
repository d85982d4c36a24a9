package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The examples in other languages, deployed as the demo deploys them and fired the way their users fire them: the
 * Python sensor by MQTT (a real mosquitto), its answer on the reply topic; the Node.js API through its Function URL;
 * and a failing Python function's asynchronous event retried with Lambda's policy into a dead letter.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OtherLanguageExamplesTest {
    @TempDir
    static Path tmp;
    Mosquitto broker;
    TestDaemon d;
    MqttClient client;
    final Mosquitto.Inbox inbox = new Mosquitto.Inbox();
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    void start() throws Exception {
        broker = Mosquitto.start(tmp.resolve("broker"));
        d = TestDaemon.start(tmp.resolve("data"), """
                mqtt:
                  url: %s
                  client-id: bramble-langs-%d
                async:
                  retry-base-ms: 100
                """.formatted(broker.url(), System.nanoTime()));
        d.deployOk(Bundles.example("python-sensor"));
        d.deployOk(Bundles.example("node-http"));
        client = broker.client("langs-client", inbox);
        client.subscribe(new String[]{"actuators/#"}, new int[]{1});
        await().atMost(20, SECONDS).until(() -> d.get("/v1/status").json().path("mqtt").path("subscriptions")
                .has("sensors/+/humidity"));
    }

    @AfterAll
    void stop() throws Exception {
        if (client != null) {
            client.disconnectForcibly(1000);
            client.close();
        }
        if (d != null) {
            d.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void theirTestEventsSucceedAsADeviceAgentRunsThemBeforeGoingLive() throws Exception {
        for (String example : new String[]{"python-sensor", "node-http"}) {
            JsonNode manifest;
            try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(Bundles.example(example).toFile())) {
                manifest = TestDaemon.JSON.readTree(zip.getInputStream(zip.getEntry("function.json")));
            }
            assertThat(manifest.path("testEvents").size()).isPositive();
            for (JsonNode event : manifest.path("testEvents")) {
                assertThat(event.isObject()).as(example + ": a test event is a JSON object, not a string").isTrue();
                TestDaemon.Response r = d.invoke(example, event.toString());
                assertThat(r.header("X-Amz-Function-Error")).as(example + ": " + r.text()).isEmpty();
            }
        }
        assertThat(d.invoke("python-sensor", "{\"topic\": \"sensors/a/humidity\", \"payload\": {\"humidity\": 50}}")
                .json().path("command").asText()).isEqualTo("idle");
        assertThat(d.invoke("node-http", manifestHealth()).json().path("statusCode").asInt()).isEqualTo(200);
    }

    private static String manifestHealth() {
        return "{\"version\": \"2.0\", \"rawPath\": \"/health\", \"requestContext\": {\"http\": {\"method\": \"GET\"}}}";
    }

    @Test
    void thePythonSensorAnswersAnMqttReadingOnItsReplyTopic() throws Exception {
        MqttMessage m = new MqttMessage("{\"humidity\": 81.5}"
                .getBytes(StandardCharsets.UTF_8));
        m.setQos(1);
        client.publish("sensors/greenhouse-2/humidity", m);
        await().atMost(20, SECONDS).until(() -> !inbox.on("actuators/greenhouse-2/vent").isEmpty());
        JsonNode answer = inbox.on("actuators/greenhouse-2/vent").getFirst().json();
        assertThat(answer.path("command").asText()).isEqualTo("vent");
        assertThat(answer.path("device").asText()).isEqualTo("greenhouse-2");
        assertThat(answer.path("humidity").asDouble()).isEqualTo(81.5);
        String id = answer.path("requestId").asText();
        await().atMost(10, SECONDS).untilAsserted(() -> assertThat(d.get("/v1/functions/python-sensor/logs?limit=100")
                .text()).contains("device=greenhouse-2 humidity=81.5 command=vent").contains("REPORT RequestId: " + id));
    }

    @Test
    void theNodeApiServesItsFunctionUrl() throws Exception {
        HttpResponse<String> stored = http.send(HttpRequest.newBuilder(URI.create(d.base() + "/fn/node-http/readings"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"room\": \"attic\", \"celsius\": 31.5}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(stored.statusCode()).as(stored.body()).isEqualTo(201);
        assertThat(stored.body()).contains("\"stored\":\"attic\"");
        HttpResponse<String> read = http.send(HttpRequest.newBuilder(URI.create(d.base()
                + "/fn/node-http/readings?room=attic")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(read.body()).isEqualTo("31.5");
        HttpResponse<String> missing = http.send(HttpRequest.newBuilder(URI.create(d.base() + "/fn/node-http/nope"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(missing.statusCode()).isEqualTo(404);
    }

    @Test
    void aFailingPythonEventIsRetriedAndEndsAsADeadLetter() {
        d.deployOk(Bundles.zip(tmp, Map.of("function.json", """
                {"name": "py-flaky", "runtime": "python3", "handler": "flaky.handle", "memoryMb": 48,
                 "async": {"maxRetries": 1, "maxEventAgeSeconds": 60}}""", "flaky.py", """
                def handle(event, context):
                    raise RuntimeError("sensor offline: " + event["sensor"])
                """)));
        TestDaemon.Response r = d.send("POST", "/2015-03-31/functions/py-flaky/invocations",
                "{\"sensor\": \"s1\"}".getBytes(StandardCharsets.UTF_8), "X-Amz-Invocation-Type", "Event");
        assertThat(r.status()).isEqualTo(202);
        await().atMost(30, SECONDS).untilAsserted(() -> {
            JsonNode letters = d.get("/v1/dead-letters?function=py-flaky").json().path("deadLetters");
            assertThat(letters.size()).isEqualTo(1);
            JsonNode letter = letters.get(0);
            assertThat(letter.path("attempts").asInt()).isEqualTo(2);
            assertThat(letter.path("reason").asText()).isEqualTo("RetriesExhausted");
            assertThat(letter.path("error").path("errorType").asText()).isEqualTo("RuntimeError");
            assertThat(letter.path("error").path("errorMessage").asText()).isEqualTo("sensor offline: s1");
        });
        // the device's metrics count them as they count a Java function's
        assertThat(d.get("/v1/functions/py-flaky").json().path("counts").path("errors").asInt()).isEqualTo(2);
    }
}
