package dev.bramble.protocol;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneId;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TriggersManifestTest {
    private static Manifest parse(String extra) {
        return ManifestParser.parse(("{\"name\":\"thermostat\",\"runtime\":\"java21\",\"handler\":\"a.B\"" + extra
                + "}").getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void triggersAndAsyncPolicyAreRead() {
        Manifest m = parse("""
                ,"triggers":[
                  {"type":"mqtt","topic":"sensors/+/temperature","replyTopic":"actuators/{1}/command"},
                  {"type":"schedule","name":"heartbeat","expression":"rate(10 seconds)","missed":"runOnce",
                   "timezone":"Europe/Berlin","overlap":true,"warmUpSeconds":5,"detail":{"job":"flush"}},
                  {"type":"coap"}],
                 "async":{"maxRetries":1,"maxEventAgeSeconds":120,"onFailure":{"mqttTopic":"dlq/thermostat"}}""");
        assertThat(m.triggers()).hasSize(3);
        Trigger.Mqtt mqtt = (Trigger.Mqtt) m.triggers().get(0);
        assertThat(mqtt.name()).isEqualTo("mqtt-0");
        assertThat(mqtt.qos()).isEqualTo(1);
        assertThat(mqtt.replyTopic()).contains("actuators/{1}/command");
        Trigger.Schedule s = (Trigger.Schedule) m.triggers().get(1);
        assertThat(s.name()).isEqualTo("heartbeat");
        assertThat(s.expression()).isInstanceOf(ScheduleExpression.Rate.class);
        assertThat(((ScheduleExpression.Rate) s.expression()).period()).isEqualTo(Duration.ofSeconds(10));
        assertThat(s.timezone()).isEqualTo(ZoneId.of("Europe/Berlin"));
        assertThat(s.missed()).isEqualTo(Trigger.MissedRuns.RUN_ONCE);
        assertThat(s.overlap()).isTrue();
        assertThat(s.warmUpSeconds()).isEqualTo(5);
        assertThat(s.detail()).isEqualTo("{\"job\":\"flush\"}");
        assertThat(((Trigger.Coap) m.triggers().get(2)).path()).isEqualTo("thermostat");
        assertThat(m.async().maxRetries()).isEqualTo(1);
        assertThat(m.async().maxEventAge()).isEqualTo(Duration.ofSeconds(120));
        assertThat(m.async().onFailureTopic()).contains("dlq/thermostat");
        assertThat(m.async().onSuccessTopic()).isEmpty();
    }

    @Test
    void noTriggersMeansLambdasDefaults() {
        Manifest m = parse("");
        assertThat(m.triggers()).isEmpty();
        assertThat(m.async()).isEqualTo(AsyncPolicy.DEFAULT);
    }

    @Test
    void everyTriggerProblemNamesTheTriggerAndTheField() {
        assertThatThrownBy(() -> parse("""
                ,"triggers":[
                  {"type":"mqtt","topic":"a/#/b","qos":2,"replyTopic":"out/{5}","colour":"red"},
                  {"type":"schedule","name":"nightly","expression":"cron(0 3 * * * *)","timezone":"Mars/Olympus",
                   "missed":"always","detail":[1]},
                  {"type":"schedule","name":"nightly","expression":"rate(5 fortnights)"},
                  {"type":"coap","path":"a/b"},
                  {"type":"carrier-pigeon"}],
                 "async":{"maxRetries":3,"maxEventAgeSeconds":10,"onSuccess":{"mqttTopic":"done/+"}}"""))
                .isInstanceOfSatisfying(InvalidManifestException.class, e -> assertThat(e.problems())
                        .anySatisfy(p -> assertThat(p).startsWith("triggers[0] (mqtt-0).topic: 'a/#/b': '#'"))
                        .anySatisfy(p -> assertThat(p).isEqualTo("triggers[0] (mqtt-0).qos: 2 is not allowed; "
                                + "allowed: [0, 1]"))
                        .anySatisfy(p -> assertThat(p).startsWith("triggers[0] (mqtt-0).colour: unknown field"))
                        .anySatisfy(p -> assertThat(p).startsWith("triggers[1] (nightly).expression: "
                                + "'cron(0 3 * * * *)'"))
                        .anySatisfy(p -> assertThat(p).startsWith("triggers[1] (nightly).timezone: 'Mars/Olympus'"))
                        .anySatisfy(p -> assertThat(p).startsWith("triggers[1] (nightly).missed: 'always' is not "
                                + "allowed; allowed: [skip, runOnce]"))
                        .anySatisfy(p -> assertThat(p).startsWith("triggers[1] (nightly).detail: expected a JSON "
                                + "object"))
                        .anySatisfy(p -> assertThat(p).startsWith("triggers[2] (nightly).name: 'nightly' is used"))
                        .anySatisfy(p -> assertThat(p).contains("unit 'fortnights' is not allowed"))
                        .anySatisfy(p -> assertThat(p).startsWith("triggers[3] (coap-3).path: 'a/b'"))
                        .anySatisfy(p -> assertThat(p).startsWith("triggers[4].type: \"carrier-pigeon\" is not a "
                                + "trigger type; allowed: [mqtt, schedule, coap]"))
                        .anySatisfy(p -> assertThat(p).startsWith("async.maxRetries: 3 is outside"))
                        .anySatisfy(p -> assertThat(p).startsWith("async.maxEventAgeSeconds: 10 is outside"))
                        .anySatisfy(p -> assertThat(p).startsWith("async.onSuccess.mqttTopic: 'done/+'")));
    }

    @Test
    void topicFiltersMatchAsABrokerDoes() {
        assertThat(Topics.matches("sensors/+/temperature", "sensors/kitchen/temperature")).isTrue();
        assertThat(Topics.matches("sensors/+/temperature", "sensors/kitchen/humidity")).isFalse();
        assertThat(Topics.matches("sensors/+/temperature", "sensors/a/b/temperature")).isFalse();
        assertThat(Topics.matches("sensors/#", "sensors")).isTrue();
        assertThat(Topics.matches("sensors/#", "sensors/a/b")).isTrue();
        assertThat(Topics.matches("#", "$SYS/broker/uptime")).isFalse();
        assertThat(Topics.matches("a/b", "a/b/c")).isFalse();
        assertThat(Topics.filterProblem("a/b+")).contains("'+' must be a whole level");
        assertThat(Topics.nameProblem("a/#")).contains("wildcards");
    }
}
