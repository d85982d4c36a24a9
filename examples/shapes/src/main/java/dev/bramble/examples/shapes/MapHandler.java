package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

import java.util.Map;
import java.util.TreeMap;

/** {@code Map<String, String>} in, its keys sorted out. */
public class MapHandler implements RequestHandler<Map<String, String>, Map<String, String>> {
    @Override
    public Map<String, String> handleRequest(Map<String, String> event, Context context) {
        return new TreeMap<>(event);
    }
}
