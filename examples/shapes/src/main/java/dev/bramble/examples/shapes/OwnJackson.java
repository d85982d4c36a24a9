package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.PackageVersion;

import java.util.Map;

/** Brings its own Jackson (2.15) and uses it; the runtime's own Jackson must not get in the way. */
public class OwnJackson implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    private final ObjectMapper mapper = new ObjectMapper();

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        try {
            return Map.of("jacksonVersion", PackageVersion.VERSION.toString(),
                    "serialized", mapper.writeValueAsString(event));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
