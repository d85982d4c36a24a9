package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.ScheduledEvent;

import java.util.LinkedHashMap;
import java.util.Map;

/** An EventBridge scheduled event, with its Joda time and its {@code detail-type}. */
public class ScheduledHandler implements RequestHandler<ScheduledEvent, Map<String, Object>> {
    @Override
    public Map<String, Object> handleRequest(ScheduledEvent event, Context context) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("detailType", event.getDetailType());
        out.put("source", event.getSource());
        out.put("year", event.getTime().getYear());
        out.put("hour", event.getTime().getHourOfDay());
        out.put("resources", event.getResources());
        return out;
    }
}
