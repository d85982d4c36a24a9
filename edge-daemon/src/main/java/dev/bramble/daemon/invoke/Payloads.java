package dev.bramble.daemon.invoke;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;

/** What an invocation's payload must be, whichever way it came in (the Invoke API, MQTT, CoAP, a schedule). */
public final class Payloads {
    private static final JsonFactory FACTORY = new JsonFactory();

    private Payloads() {
    }

    /**
     * Checks that {@code body} is exactly one JSON value, without building it.
     *
     * @return null when it is, else what is wrong
     */
    public static String problem(byte[] body) {
        try (JsonParser p = FACTORY.createParser(body)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                return "empty";
            }
            p.skipChildren();
            if (p.nextToken() != null) {
                return "more than one JSON value";
            }
            return null;
        } catch (IOException e) {
            return e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        }
    }
}
