package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * brambled killed with SIGKILL while MQTT messages wait in its queue, and more arriving while it is down: after a
 * restart every one of them runs.
 */
class MqttDurabilityTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path tmp;

    @Test
    void queuedMessagesAndMessagesSentWhileDownRunAfterAKillNine() throws Exception {
        DaemonProcess.Install install = DaemonProcess.Install.inTmp();
        Path data = install.root().resolve("data");
        Mosquitto.Inbox inbox = new Mosquitto.Inbox();
        try (Mosquitto broker = Mosquitto.start(tmp.resolve("broker"))) {
            String yaml = """
                    runtime:
                      class-data-archives: false
                    sandbox:
                      cgroup-name: bramble-mqtt-kill9-%d
                    async:
                      workers: 1
                    mqtt:
                      url: %s
                      client-id: bramble-kill9
                      reconnect-min-ms: 100
                    """.formatted(ProcessHandle.current().pid(), broker.url());
            MqttClient client = broker.client("kill9-test", inbox);
            client.subscribe("done/#", 1);
            DaemonProcess first = DaemonProcess.start(install, data, yaml, List.of(), false);
            try {
                post(first, "/v1/deployments", Files.readAllBytes(Bundles.withManifest(Bundles.example("misbehave"),
                        tmp, Bundles.misbehave("jobs", """
                                "timeoutSeconds": 60, "triggers": [{"type": "mqtt", "topic": "jobs/+",
                                 "replyTopic": "done/{1}"}]"""))));
                await().atMost(20, SECONDS).until(() -> status(first).path("mqtt").path("subscriptions").has("jobs/+"));
                for (int i = 0; i < 8; i++) {
                    publish(client, i);
                }
                // Stored and acknowledged, one running at a time: most of them wait in the queue.
                await().atMost(20, SECONDS).until(() -> status(first).path("async").path("depth").asInt() >= 6);
            } finally {
                first.process().destroyForcibly(); // SIGKILL: nothing is flushed, nothing said goodbye
                first.process().waitFor(10, SECONDS);
            }
            for (int i = 8; i < 12; i++) {
                publish(client, i); // kept by the broker in the daemon's persistent session
            }
            String firstLog = first.log();
            try (DaemonProcess second = DaemonProcess.start(install, data, yaml, List.of(), false)) {
                try {
                    await("all twelve answered").atMost(60, SECONDS).until(() -> answered(inbox).size() == 12);
                } catch (org.awaitility.core.ConditionTimeoutException e) {
                    // What a flake needs to be found: who answered, what the queue holds, what both daemons said.
                    throw new AssertionError("answered " + answered(inbox) + "; status " + status(second)
                            + "\n--- first daemon ---\n" + tail(firstLog) + "\n--- second daemon ---\n"
                            + tail(second.log()), e);
                }
                assertThat(answered(inbox)).containsExactlyElementsOf(MqttTriggerTest.range(12));
                await().atMost(10, SECONDS).until(() -> status(second).path("async").path("depth").asInt() == 0);
            } finally {
                client.disconnectForcibly(1000);
                client.close();
            }
        }
    }

    private static String tail(String log) {
        return log.length() <= 30_000 ? log : log.substring(log.length() - 30_000);
    }

    private static void publish(MqttClient client, int id) throws Exception {
        MqttMessage m = new MqttMessage(("{\"id\": " + id + ", \"sleepMs\": 300}").getBytes(StandardCharsets.UTF_8));
        m.setQos(1);
        client.publish("jobs/" + id, m);
    }

    private static Set<Integer> answered(Mosquitto.Inbox inbox) {
        return inbox.messages.stream().map(m -> m.json().path("id").asInt())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static JsonNode status(DaemonProcess d) throws IOException, InterruptedException {
        return d.status();
    }

    private static void post(DaemonProcess d, String path, byte[] body) throws Exception {
        HttpResponse<String> r = d.post(path, body);
        assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
    }
}
