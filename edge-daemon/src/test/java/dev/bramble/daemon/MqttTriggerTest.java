package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** MQTT triggers against a real mosquitto: routing, replies, odd payloads, and a broker restart mid-stream. */
class MqttTriggerTest {
    @TempDir
    Path tmp;
    private Mosquitto broker;
    private TestDaemon daemon;
    private MqttClient client;
    private final Mosquitto.Inbox inbox = new Mosquitto.Inbox();

    @BeforeEach
    void start() throws MqttException {
        broker = Mosquitto.start(tmp.resolve("broker"));
        daemon = TestDaemon.start(tmp.resolve("data"), """
                mqtt:
                  url: %s
                  client-id: bramble-test-%d
                  max-payload-bytes: 4096
                  reconnect-min-ms: 100
                  reconnect-max-ms: 1000
                async:
                  retry-base-ms: 100
                """.formatted(broker.url(), System.nanoTime()));
        daemon.deployOk(Bundles.example("thermostat"));
        daemon.deployOk(Bundles.withManifest(Bundles.example("echo"), tmp, """
                {"name": "echo", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo", "memoryMb": 64,
                 "triggers": [{"type": "mqtt", "topic": "devices/#", "replyTopic": "echoes/{1}"}],
                 "async": {"maxRetries": 0, "maxEventAgeSeconds": 60, "onFailure": {"mqttTopic": "failures/echo"}}}"""));
        client = broker.client("test-client", inbox);
        client.subscribe(new String[]{"actuators/#", "replies/#", "echoes/#", "bramble/failures/#", "failures/#"},
                new int[]{1, 1, 1, 1, 1});
        awaitSubscribed("sensors/+/temperature", "devices/#");
    }

    @AfterEach
    void stop() throws MqttException {
        if (client != null) {
            client.disconnectForcibly(1000);
            client.close();
        }
        if (daemon != null) {
            daemon.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    private void awaitSubscribed(String... filters) {
        await("subscriptions " + List.of(filters)).atMost(20, SECONDS).until(() -> {
            JsonNode subs = daemon.get("/v1/status").json().path("mqtt").path("subscriptions");
            for (String f : filters) {
                if (!subs.has(f)) {
                    return false;
                }
            }
            return true;
        });
    }

    private void publish(String topic, String payload) throws MqttException {
        publish(topic, payload.getBytes(StandardCharsets.UTF_8), null);
    }

    private void publish(String topic, byte[] payload, MqttProperties properties) throws MqttException {
        MqttMessage m = new MqttMessage(payload);
        m.setQos(1);
        if (properties != null) {
            m.setProperties(properties);
        }
        client.publish(topic, m);
    }

    private JsonNode trigger(String function, String name) {
        for (JsonNode t : daemon.get("/v1/status").json().path("triggers")) {
            if (t.path("function").asText().equals(function) && t.path("name").asText().equals(name)) {
                return t;
            }
        }
        throw new AssertionError("no trigger " + function + "/" + name);
    }

    @Test
    void aQos1ReadingIsAnsweredOnTheReplyTopicAndOnTheResponseTopic() throws MqttException {
        publish("sensors/kitchen/temperature", "{\"celsius\": 15.5}");
        MqttProperties props = new MqttProperties();
        props.setResponseTopic("replies/panel-7");
        props.setCorrelationData("req-42".getBytes(StandardCharsets.UTF_8));
        publish("sensors/attic/temperature", "{\"celsius\": 31}".getBytes(StandardCharsets.UTF_8), props);

        await().atMost(20, SECONDS).until(() -> !inbox.on("actuators/kitchen/command").isEmpty()
                && !inbox.on("replies/panel-7").isEmpty());
        JsonNode kitchen = inbox.on("actuators/kitchen/command").getFirst().json();
        assertThat(kitchen.path("sensor").asText()).isEqualTo("kitchen");
        assertThat(kitchen.path("command").asText()).isEqualTo("heat");
        Mosquitto.Received attic = inbox.on("replies/panel-7").getFirst();
        assertThat(attic.json().path("sensor").asText()).isEqualTo("attic");
        assertThat(attic.json().path("command").asText()).isEqualTo("cool");
        assertThat(new String(attic.correlation(), StandardCharsets.UTF_8)).isEqualTo("req-42");
        // A response topic takes the place of the reply topic.
        assertThat(inbox.on("actuators/attic/command")).isEmpty();
        JsonNode counts = trigger("thermostat", "readings");
        assertThat(counts.path("received").asLong()).isEqualTo(2);
        assertThat(counts.path("invoked").asLong()).isEqualTo(2);
        assertThat(counts.path("failed").asLong()).isZero();
        assertThat(daemon.get("/v1/status").json().path("mqtt").path("state").asText()).isEqualTo("connected");
    }

    @Test
    void wildcardsRouteEachTopicToTheTriggersItMatches() throws MqttException {
        publish("devices/pump/state/valve", "{\"open\": true}");
        MqttProperties props = new MqttProperties();
        props.setUserProperties(List.of(new UserProperty("site", "north")));
        publish("devices/fan", "{\"rpm\": 900}".getBytes(StandardCharsets.UTF_8), props);
        publish("sensors/a/b/temperature", "{\"celsius\": 20}"); // '+' is one level: no match
        publish("sensors/hall/humidity", "{\"percent\": 40}"); // another leaf: no match
        publish("sensors/hall/temperature", "{\"celsius\": 21}");

        await().atMost(20, SECONDS).until(() -> inbox.on("echoes/pump").size() == 1
                && inbox.on("echoes/fan").size() == 1 && inbox.on("actuators/hall/command").size() == 1);
        JsonNode pump = inbox.on("echoes/pump").getFirst().json();
        assertThat(pump.path("topic").asText()).isEqualTo("devices/pump/state/valve");
        assertThat(pump.path("payload").path("open").asBoolean()).isTrue();
        assertThat(pump.path("isBase64Encoded").asBoolean()).isFalse();
        assertThat(pump.path("qos").asInt()).isEqualTo(1);
        assertThat(pump.path("retain").asBoolean()).isFalse();
        assertThat(inbox.on("echoes/fan").getFirst().json().path("userProperties").path("site").asText())
                .isEqualTo("north");
        assertThat(inbox.on("actuators/hall/command").getFirst().json().path("command").asText()).isEqualTo("idle");
        assertThat(trigger("thermostat", "readings").path("received").asLong()).isEqualTo(1);
        assertThat(trigger("echo", "mqtt-0").path("received").asLong()).isEqualTo(2);
    }

    @Test
    void nonJsonPayloadsArriveAsBase64AndOversizedOnesAreDroppedAndCounted() throws Exception {
        byte[] binary = {0, 1, 2, (byte) 0xff, 'x'};
        publish("devices/camera", binary, null);
        publish("devices/camera", new byte[8_192], null); // over mqtt.max-payload-bytes (4096)
        publish("devices/radio", "not json at all");

        await().atMost(20, SECONDS).until(() -> inbox.on("echoes/camera").size() == 1
                && inbox.on("echoes/radio").size() == 1 && trigger("echo", "mqtt-0").path("dropped").asLong() == 1);
        JsonNode camera = inbox.on("echoes/camera").getFirst().json();
        assertThat(camera.path("isBase64Encoded").asBoolean()).isTrue();
        assertThat(java.util.Base64.getDecoder().decode(camera.path("payload").asText())).isEqualTo(binary);
        assertThat(new String(java.util.Base64.getDecoder().decode(inbox.on("echoes/radio").getFirst().json()
                .path("payload").asText()), StandardCharsets.UTF_8)).isEqualTo("not json at all");
        JsonNode counts = trigger("echo", "mqtt-0");
        assertThat(counts.path("received").asLong()).isEqualTo(3);
        assertThat(counts.path("invoked").asLong()).isEqualTo(2);
        assertThat(daemon.get("/v1/status").json().path("mqtt").path("oversized").asLong()).isEqualTo(1);
        Thread.sleep(300);
        assertThat(inbox.on("echoes/camera")).hasSize(1); // the oversized one never ran
    }

    @Test
    void aFailedEventGoesToTheDeadLettersAndTheOnFailureTopic() throws MqttException {
        publish("sensors/cellar/temperature", "{\"fahrenheit\": 50}");

        await().atMost(20, SECONDS).until(() -> !inbox.on("bramble/failures/thermostat").isEmpty());
        JsonNode record = inbox.on("bramble/failures/thermostat").getFirst().json();
        assertThat(record.path("requestContext").path("condition").asText()).isEqualTo("RetriesExhausted");
        assertThat(record.path("requestContext").path("approximateInvokeCount").asInt()).isEqualTo(2);
        assertThat(record.path("requestPayload").path("topic").asText()).isEqualTo("sensors/cellar/temperature");
        assertThat(record.path("responsePayload").path("errorType").asText())
                .isEqualTo("java.lang.IllegalArgumentException");
        JsonNode letters = daemon.get("/v1/dead-letters?function=thermostat").json().path("deadLetters");
        assertThat(letters).hasSize(1);
        assertThat(letters.get(0).path("requestId").asText())
                .isEqualTo(record.path("requestContext").path("requestId").asText());
        assertThat(letters.get(0).path("attempts").asInt()).isEqualTo(2);
        assertThat(letters.get(0).path("source").asText()).isEqualTo("mqtt:thermostat/readings");
        assertThat(letters.get(0).path("error").path("errorMessage").asText()).contains("no numeric 'celsius'");
        assertThat(inbox.on("actuators/cellar/command")).isEmpty();
        assertThat(trigger("thermostat", "readings").path("failed").asLong()).isEqualTo(2);
    }

    @Test
    void aBrokerRestartMidStreamLosesNoQos1Message() throws Exception {
        int total = 120;
        for (int i = 0; i < total; i++) {
            if (i == total / 2) {
                broker.restart();
            }
            publishUntilAccepted("devices/stream", "{\"n\": " + i + "}");
        }
        await("every message answered").atMost(60, SECONDS).until(() -> seen("echoes/stream").size() == total);
        assertThat(seen("echoes/stream")).containsExactlyElementsOf(range(total));
        assertThat(daemon.get("/v1/status").json().path("mqtt").path("reconnects").asLong()).isPositive();
    }

    /** What a device's publisher does: on a lost connection, wait for it to come back and publish again. */
    private void publishUntilAccepted(String topic, String payload) throws InterruptedException {
        for (int attempt = 0; ; attempt++) {
            try {
                publish(topic, payload);
                return;
            } catch (MqttException e) {
                if (attempt > 200) {
                    throw new AssertionError("could not publish " + payload, e);
                }
                Thread.sleep(100);
            }
        }
    }

    private Set<Integer> seen(String topic) {
        return inbox.on(topic).stream().map(m -> m.json().path("payload").path("n").asInt())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    static Set<Integer> range(int n) {
        Set<Integer> s = new TreeSet<>();
        for (int i = 0; i < n; i++) {
            s.add(i);
        }
        return s;
    }
}
