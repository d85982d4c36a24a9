package dev.bramble.daemon.invoke;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bramble.daemon.env.InitFailedException;
import dev.bramble.runtime.Channel;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Lambda's error objects for what the daemon itself saw (LAMBDA.md, "Errors"): the one place they are made. A
 * function's own errors come from its runtime as they are.
 */
public final class LambdaErrors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LambdaErrors() {
    }

    /** {@code {"errorType": type, "errorMessage": message}}; the type is left out when null, as Lambda's timeouts do. */
    public static byte[] json(String type, String message) {
        Map<String, String> error = new LinkedHashMap<>();
        if (type != null) {
            error.put("errorType", type);
        }
        error.put("errorMessage", message);
        try {
            return JSON.writeValueAsBytes(error);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Lambda's answer to a response over 6 MB. */
    public static byte[] responseTooLarge() {
        return json("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload "
                + "size (" + Channel.MAX_RESPONSE_BYTES + " bytes).");
    }

    /** A failed cold start: the runtime's own error object when it sent one, else what the daemon saw. */
    public static byte[] initFailed(InitFailedException e) {
        return e.runtimeError().orElseGet(() -> json(e.errorType(), e.errorMessage()));
    }
}
