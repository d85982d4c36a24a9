package dev.bramble.examples.thermostat;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A thermostat for many rooms. A reading {@code {"celsius": 23.5}} arrives over MQTT on
 * {@code sensors/<sensor>/temperature} or over CoAP at {@code fn/thermostat?sensor=<sensor>}; the answer is
 * {@code {"sensor": "<sensor>", "command": "heat" | "cool" | "idle"}}, which Bramble publishes to the message's
 * response topic or to {@code actuators/<sensor>/command}. A scheduled event logs a heartbeat. A reading without
 * {@code celsius} is an error, so the event is retried and then lands in the dead letters.
 */
public class Thermostat implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    private final double heatBelow = number(System.getenv("HEAT_BELOW"), 19);
    private final double coolAbove = number(System.getenv("COOL_ABOVE"), 24);

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        Map<String, Object> out = new LinkedHashMap<>();
        if ("Scheduled Event".equals(event.get("detail-type"))) {
            context.getLogger().log("heartbeat " + event.get("time"));
            out.put("heartbeat", event.get("time"));
            return out;
        }
        String sensor = sensor(event);
        if (!(event.get("payload") instanceof Map<?, ?> reading) || !(reading.get("celsius") instanceof Number c)) {
            throw new IllegalArgumentException("reading from " + sensor + " has no numeric 'celsius': "
                    + event.get("payload"));
        }
        double celsius = c.doubleValue();
        String command = celsius < heatBelow ? "heat" : celsius > coolAbove ? "cool" : "idle";
        context.getLogger().log(sensor + " " + celsius + " C -> " + command);
        out.put("sensor", sensor);
        out.put("command", command);
        return out;
    }

    /** The sensor: level 1 of the MQTT topic, or the CoAP query's {@code sensor}. */
    private static String sensor(Map<String, Object> event) {
        if (event.get("topic") instanceof String topic) {
            String[] levels = topic.split("/");
            return levels.length > 1 ? levels[1] : topic;
        }
        if (event.get("query") instanceof Map<?, ?> query && query.get("sensor") instanceof String s) {
            return s;
        }
        return "unknown";
    }

    private static double number(String value, double fallback) {
        try {
            return value == null ? fallback : Double.parseDouble(value);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }
}
