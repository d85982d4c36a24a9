package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A real {@code rate(1 second)} schedule, end to end: a ScheduledEvent handler runs, its results go to MQTT. */
class ScheduleTriggerTest {
    @TempDir
    Path tmp;

    @Test
    void aOneSecondRateRunsAScheduledEventHandlerEverySecond() throws Exception {
        Mosquitto.Inbox inbox = new Mosquitto.Inbox();
        // The scheduled instants the daemon skipped because the run before was still going (its log says so).
        List<Instant> skipped = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Logger triggers = java.util.logging.Logger.getLogger(
                dev.bramble.daemon.trigger.Triggers.class.getName());
        java.util.logging.Handler skips = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getMessage().startsWith("schedule.skipped") && r.getParameters() != null) {
                    skipped.add(Instant.parse(r.getParameters()[1].toString()).truncatedTo(
                            java.time.temporal.ChronoUnit.SECONDS));
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        triggers.addHandler(skips);
        try (Mosquitto broker = Mosquitto.start(tmp.resolve("broker"));
             TestDaemon d = TestDaemon.start(tmp.resolve("data"), """
                     mqtt:
                       url: %s
                       client-id: bramble-schedule-%d
                     """.formatted(broker.url(), System.nanoTime()))) {
            MqttClient client = broker.client("schedule-test", inbox);
            try {
                client.subscribe("ticks", 1);
                d.deployOk(Bundles.withManifest(Bundles.example("shapes"), tmp, """
                        {"name": "ticker", "runtime": "java21",
                         "handler": "dev.bramble.examples.shapes.ScheduledHandler", "memoryMb": 96,
                         "triggers": [{"type": "schedule", "name": "every-second", "expression": "rate(1 second)"}],
                         "async": {"onSuccess": {"mqttTopic": "ticks"}}}"""));

                // Warm runs follow each other a second apart.
                await().atMost(30, SECONDS).until(() -> gaps(times(inbox)).contains(1_000L));
                List<JsonNode> ticks = inbox.on("ticks").stream().map(Mosquitto.Received::json).toList();
                JsonNode first = ticks.getFirst();
                assertThat(first.path("requestContext").path("condition").asText()).isEqualTo("Success");
                assertThat(first.path("requestContext").path("source").asText())
                        .isEqualTo("schedule:ticker/every-second");
                assertThat(first.path("responsePayload").path("detailType").asText()).isEqualTo("Scheduled Event");
                assertThat(first.path("responsePayload").path("source").asText()).isEqualTo("aws.events");
                assertThat(first.path("responsePayload").path("resources").get(0).asText())
                        .isEqualTo("arn:aws:events:local:000000000000:rule/bramble-ticker-every-second");
                List<Instant> times = times(inbox);
                assertThat(times).doesNotHaveDuplicates().isSorted();
                // Each event carries its scheduled instant: whole seconds apart, and every second between two runs
                // that did not run was skipped, and said so, because the run before had not ended (the first run
                // includes a cold start, which on a loaded 2-core machine can pass a second): the scheduler itself
                // never loses a second.
                for (int i = 1; i < times.size(); i++) {
                    long gap = times.get(i).toEpochMilli() - times.get(i - 1).toEpochMilli();
                    assertThat(gap % 1_000).as("gap %d ms", gap).isZero();
                    for (Instant missing = times.get(i - 1).plusSeconds(1); missing.isBefore(times.get(i));
                         missing = missing.plusSeconds(1)) {
                        assertThat(skipped).as("runs at %s; the daemon skipped %s", times, skipped).contains(missing);
                    }
                }
                JsonNode trigger = d.get("/v1/status").json().path("triggers").get(0);
                assertThat(trigger.path("expression").asText()).isEqualTo("rate(1 second)");
                assertThat(trigger.path("invoked").asInt()).isGreaterThanOrEqualTo(times.size());
                assertThat(trigger.path("dropped").asInt()).isGreaterThanOrEqualTo(skipped.size());
            } finally {
                client.disconnect();
                client.close();
            }
        } finally {
            triggers.removeHandler(skips);
        }
    }

    private static List<Instant> times(Mosquitto.Inbox inbox) {
        return inbox.on("ticks").stream().map(t -> Instant.parse(t.json().path("requestPayload").path("time")
                .asText())).toList();
    }

    private static List<Long> gaps(List<Instant> times) {
        List<Long> gaps = new java.util.ArrayList<>();
        for (int i = 1; i < times.size(); i++) {
            gaps.add(times.get(i).toEpochMilli() - times.get(i - 1).toEpochMilli());
        }
        return gaps;
    }

    @Test
    void aRunIsSkippedWhileThePreviousOneHasNotEnded() {
        try (TestDaemon d = TestDaemon.start(tmp.resolve("data"), "")) {
            d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), tmp, Bundles.misbehave("slowtick",
                    "\"timeoutSeconds\": 10, \"triggers\": [{\"type\": \"schedule\", \"expression\": "
                            + "\"rate(1 second)\", \"detail\": {\"sleepMs\": 2500}}]")));
            await().atMost(30, SECONDS).until(() -> {
                JsonNode t = d.get("/v1/status").json().path("triggers").get(0);
                return t.path("dropped").asInt() >= 2 && t.path("invoked").asInt() >= 1;
            });
            assertThat(d.get("/v1/status").json().path("async").path("running").asInt()).isLessThanOrEqualTo(1);
            // Each run slept as its detail said: the schedule's detail reached the function. (Only a floor: a
            // loaded 2-core machine adds to the sleep, and a training run for the class-data archive loads it.)
            JsonNode logs = d.get("/v1/functions/slowtick/logs?limit=200").json().path("events");
            List<Double> durations = logs.findValuesAsText("message").stream()
                    .filter(m -> m.startsWith("REPORT "))
                    .map(m -> Double.parseDouble(m.replaceFirst("(?s).*\tDuration: ([0-9.]+) ms.*", "$1")))
                    .toList();
            assertThat(durations).isNotEmpty().allSatisfy(ms -> assertThat(ms).isBetween(2_500.0, 10_000.0));
            assertThat(logs.findValuesAsText("message")).noneMatch(m -> m.contains("attached by jcmd"));
        }
    }

    @Test
    void aWarmUpStartsAnEnvironmentBeforeTheRunIsDue() {
        try (TestDaemon d = TestDaemon.start(tmp.resolve("data"), "")) {
            // The next run is at most an hour away, so an hour's warm-up falls due at once; the run itself almost
            // surely does not come during the test.
            d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), tmp, Bundles.misbehave("early",
                    "\"triggers\": [{\"type\": \"schedule\", \"expression\": \"rate(1 hour)\", "
                            + "\"warmUpSeconds\": 3600}]")));
            await().atMost(20, SECONDS).until(() -> d.get("/v1/functions/early").json().path("environments")
                    .findValuesAsText("state").contains("IDLE"));
            JsonNode env = d.get("/v1/functions/early").json().path("environments").get(0);
            assertThat(env.path("provisioned").asBoolean()).isFalse();
            assertThat(env.path("invocations").asInt()).isZero(); // started ahead of the run, not by it
        }
    }
}
