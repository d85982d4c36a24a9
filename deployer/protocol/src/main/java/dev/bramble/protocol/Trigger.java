package dev.bramble.protocol;

import java.time.ZoneId;
import java.util.Optional;

/**
 * What fires a function besides a direct invocation, from the manifest's {@code triggers} list. Every trigger has
 * a name unique within its function ({@code mqtt-0}, {@code schedule-1} … unless the manifest names it), which
 * counters, status and schedule state are keyed by.
 */
public sealed interface Trigger {
    /** The trigger's name within its function. */
    String name();

    /** {@code mqtt}, {@code schedule} or {@code coap}. */
    String type();

    /**
     * Messages on an MQTT topic filter, each queued as one asynchronous invocation.
     *
     * @param topic      a topic filter; {@code +} matches one level, a trailing {@code #} any number
     * @param qos        0 or 1
     * @param replyTopic where a result goes when the message names no MQTT 5 response topic; {@code {N}} is
     *                   replaced by level N (from 0) of the message's topic
     */
    record Mqtt(String name, String topic, int qos, Optional<String> replyTopic) implements Trigger {
        @Override
        public String type() {
            return "mqtt";
        }
    }

    /**
     * A schedule, each run queued as one asynchronous invocation with a {@code ScheduledEvent}.
     *
     * @param expression    {@code rate(…)} or {@code cron(…)}
     * @param timezone      the zone cron fields are read in
     * @param missed        what a restart does about runs that fell due while the daemon was down
     * @param overlap       a run may start while the previous one is still queued or running
     * @param warmUpSeconds start an environment this long before a run, 0 for none
     * @param detail        the event's {@code detail}, a JSON object (EventBridge's constant input); {@code {}}
     */
    record Schedule(String name, ScheduleExpression expression, ZoneId timezone, MissedRuns missed,
                    boolean overlap, int warmUpSeconds, String detail) implements Trigger {
        @Override
        public String type() {
            return "schedule";
        }
    }

    /**
     * Synchronous invocation over CoAP at {@code coap://device/fn/{path}}.
     *
     * @param path the last path segment; the function's name unless given
     */
    record Coap(String name, String path) implements Trigger {
        @Override
        public String type() {
            return "coap";
        }
    }

    /** What happens to runs that fell due while the daemon was not running. */
    enum MissedRuns {
        /** They are lost; the schedule carries on from now. */
        SKIP("skip"),
        /** The most recent one runs once at start, however many were missed. */
        RUN_ONCE("runOnce");

        private final String json;

        MissedRuns(String json) {
            this.json = json;
        }

        /** The manifest's spelling. */
        public String json() {
            return json;
        }
    }
}
