package dev.bramble.protocol;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads the manifest's {@code triggers} list; each problem names the trigger and the field. */
final class TriggerFields {
    static final int MAX_TRIGGERS = 32;
    static final int MAX_WARM_UP_S = 3_600;
    static final int MAX_DETAIL_BYTES = 8_192;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{(\\d+)}");
    private static final Map<String, List<String>> FIELDS = Map.of(
            "mqtt", List.of("type", "name", "topic", "qos", "replyTopic"),
            "schedule", List.of("type", "name", "expression", "timezone", "missed", "overlap", "warmUpSeconds",
                    "detail"),
            "coap", List.of("type", "name", "path"));

    private final Consumer<String> problems;
    private final String function;

    TriggerFields(Consumer<String> problems, String function) {
        this.problems = problems;
        this.function = function;
    }

    List<Trigger> triggers(JsonNode n) {
        List<Trigger> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isArray()) {
            problems.accept("triggers: expected a list of objects such as [{\"type\": \"mqtt\", \"topic\": "
                    + "\"a/+/b\"}], got " + n.getNodeType().toString().toLowerCase());
            return out;
        }
        if (n.size() > MAX_TRIGGERS) {
            problems.accept("triggers: " + n.size() + " triggers; at most " + MAX_TRIGGERS);
        }
        Set<String> names = new HashSet<>();
        Set<String> coapPaths = new HashSet<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode t = n.get(i);
            String where = "triggers[" + i + "]";
            if (!t.isObject()) {
                problems.accept(where + ": expected an object, got " + t);
                continue;
            }
            JsonNode typeNode = t.get("type");
            String type = typeNode != null && typeNode.isTextual() ? typeNode.textValue() : null;
            if (type == null || !FIELDS.containsKey(type)) {
                problems.accept(where + ".type: " + (typeNode == null ? "required, missing" : typeNode
                        + " is not a trigger type") + "; allowed: [mqtt, schedule, coap]");
                continue;
            }
            String name = type + "-" + i;
            JsonNode nameNode = t.get("name");
            if (nameNode != null) {
                if (!nameNode.isTextual() || !NAME.matcher(nameNode.textValue()).matches()) {
                    problems.accept(where + ".name: " + nameNode + " is not allowed; use 1 to 64 letters, digits, "
                            + "'-' or '_'");
                } else {
                    name = nameNode.textValue();
                }
            }
            where = "triggers[" + i + "] (" + name + ")";
            if (!names.add(name)) {
                problems.accept(where + ".name: '" + name + "' is used by another trigger; names must be unique");
            }
            for (String field : (Iterable<String>) t::fieldNames) {
                if (!FIELDS.get(type).contains(field)) {
                    problems.accept(where + "." + field + ": unknown field for a " + type + " trigger; known: "
                            + FIELDS.get(type));
                }
            }
            Trigger parsed = switch (type) {
                case "mqtt" -> mqtt(where, name, t);
                case "schedule" -> schedule(where, name, t);
                default -> coap(where, name, t, coapPaths);
            };
            if (parsed != null) {
                out.add(parsed);
            }
        }
        return out;
    }

    private Trigger mqtt(String where, String name, JsonNode t) {
        String topic = text(where, t, "topic", true);
        if (topic != null) {
            String bad = Topics.filterProblem(topic);
            if (bad != null) {
                problems.accept(where + ".topic: " + bad);
                topic = null;
            }
        }
        int qos = 1;
        JsonNode q = t.get("qos");
        if (q != null && (!q.isInt() || q.intValue() < 0 || q.intValue() > 1)) {
            problems.accept(where + ".qos: " + q + " is not allowed; allowed: [0, 1]");
        } else if (q != null) {
            qos = q.intValue();
        }
        String reply = text(where, t, "replyTopic", false);
        if (reply != null) {
            String bad = Topics.nameProblem(reply.replaceAll(PLACEHOLDER.pattern(), "x"));
            if (bad != null) {
                problems.accept(where + ".replyTopic: " + bad);
            }
            Matcher m = PLACEHOLDER.matcher(reply);
            int levels = topic == null ? Integer.MAX_VALUE : topic.split("/", -1).length;
            while (m.find()) {
                if (Integer.parseInt(m.group(1)) >= levels) {
                    problems.accept(where + ".replyTopic: " + m.group() + " names level " + m.group(1)
                            + ", but the topic '" + topic + "' has levels 0 to " + (levels - 1));
                }
            }
        }
        return topic == null ? null : new Trigger.Mqtt(name, topic, qos, Optional.ofNullable(reply));
    }

    private Trigger schedule(String where, String name, JsonNode t) {
        String text = text(where, t, "expression", true);
        ScheduleExpression expression = null;
        if (text != null) {
            try {
                expression = ScheduleExpression.parse(text);
            } catch (IllegalArgumentException e) {
                problems.accept(where + ".expression: " + e.getMessage());
            }
        }
        ZoneId zone = ZoneId.of("UTC");
        String tz = text(where, t, "timezone", false);
        if (tz != null) {
            try {
                zone = ZoneId.of(tz);
            } catch (DateTimeException e) {
                problems.accept(where + ".timezone: '" + tz + "' is not a time zone; use an IANA name such as "
                        + "Europe/Berlin, or UTC");
            }
        }
        Trigger.MissedRuns missed = Trigger.MissedRuns.SKIP;
        String m = text(where, t, "missed", false);
        if (m != null) {
            missed = null;
            for (Trigger.MissedRuns r : Trigger.MissedRuns.values()) {
                if (r.json().equals(m)) {
                    missed = r;
                }
            }
            if (missed == null) {
                problems.accept(where + ".missed: '" + m + "' is not allowed; allowed: [skip, runOnce]");
            }
        }
        boolean overlap = false;
        JsonNode o = t.get("overlap");
        if (o != null && !o.isBoolean()) {
            problems.accept(where + ".overlap: expected true or false, got " + o);
        } else if (o != null) {
            overlap = o.booleanValue();
        }
        int warmUp = 0;
        JsonNode w = t.get("warmUpSeconds");
        if (w != null && (!w.isInt() || w.intValue() < 0 || w.intValue() > MAX_WARM_UP_S)) {
            problems.accept(where + ".warmUpSeconds: " + w + " is not allowed; use a whole number from 0 to "
                    + MAX_WARM_UP_S);
        } else if (w != null) {
            warmUp = w.intValue();
        }
        String detail = "{}";
        JsonNode d = t.get("detail");
        if (d != null && !d.isObject()) {
            problems.accept(where + ".detail: expected a JSON object (the event's detail), got " + d);
        } else if (d != null) {
            detail = d.toString();
            if (detail.length() > MAX_DETAIL_BYTES) {
                problems.accept(where + ".detail: " + detail.length() + " bytes; at most " + MAX_DETAIL_BYTES);
            }
        }
        return expression == null || missed == null ? null
                : new Trigger.Schedule(name, expression, zone, missed, overlap, warmUp, detail);
    }

    private Trigger coap(String where, String name, JsonNode t, Set<String> paths) {
        String path = text(where, t, "path", false);
        if (path == null) {
            path = function;
        }
        if (path == null || !NAME.matcher(path).matches()) {
            problems.accept(where + ".path: '" + path + "' is not allowed; use 1 to 64 letters, digits, '-' or '_'");
            return null;
        }
        if (!paths.add(path)) {
            problems.accept(where + ".path: '" + path + "' is used by another CoAP trigger of this function");
        }
        return new Trigger.Coap(name, path);
    }

    private String text(String where, JsonNode t, String field, boolean required) {
        JsonNode n = t.get(field);
        if (n == null || n.isNull()) {
            if (required) {
                problems.accept(where + "." + field + ": required, missing");
            }
            return null;
        }
        if (!n.isTextual()) {
            problems.accept(where + "." + field + ": expected a string, got " + n);
            return null;
        }
        return n.textValue();
    }
}
