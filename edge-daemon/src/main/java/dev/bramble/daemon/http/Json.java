package dev.bramble.daemon.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;

/** JSON in and out of the HTTP layer: one mapper, built once. */
public final class Json {
    static final ObjectMapper MAPPER = JsonMapper.builder().build();
    private static final JsonFactory FACTORY = MAPPER.getFactory();

    private Json() {
    }

    static void send(ServerResponse res, int status, Object body) {
        try {
            byte[] bytes = MAPPER.writeValueAsBytes(body);
            res.status(status).header(HeaderNames.CONTENT_TYPE, "application/json").send(bytes);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
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
            String message = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            return message;
        }
    }

    /** Parses JSON known to be valid, for embedding it in an answer. */
    static com.fasterxml.jackson.databind.JsonNode tree(byte[] json) {
        try {
            return MAPPER.readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
