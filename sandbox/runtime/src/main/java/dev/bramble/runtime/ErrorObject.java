package dev.bramble.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.UndeclaredThrowableException;

/** Turns exceptions into Lambda's error object: {@code errorMessage, errorType, stackTrace, cause}. */
final class ErrorObject {
    private static final int MAX_FRAMES = 50;
    private static final int MAX_CAUSES = 5;
    private static final String RUNTIME_PACKAGE = ErrorObject.class.getPackageName() + ".";

    private ErrorObject() {
    }

    static byte[] of(ObjectMapper mapper, Throwable t) {
        try {
            return mapper.writeValueAsBytes(node(mapper, unwrap(t), 0));
        } catch (Exception e) {
            return ("{\"errorMessage\":\"error while reporting an error\",\"errorType\":\""
                    + e.getClass().getName() + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** An error object with a chosen type, such as {@code Runtime.ImportModuleError}. */
    static byte[] of(ObjectMapper mapper, String type, String message, Throwable cause) {
        ObjectNode node = mapper.createObjectNode();
        node.put("errorMessage", message);
        node.put("errorType", type);
        node.putArray("stackTrace");
        if (cause != null) {
            node.set("cause", node(mapper, unwrap(cause), 1));
        }
        try {
            return mapper.writeValueAsBytes(node);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Throwable unwrap(Throwable t) {
        Throwable current = t;
        while ((current instanceof InvocationTargetException || current instanceof UndeclaredThrowableException)
                && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }

    private static ObjectNode node(ObjectMapper mapper, Throwable t, int depth) {
        ObjectNode node = mapper.createObjectNode();
        node.put("errorMessage", t.getMessage() == null ? t.getClass().getName() : t.getMessage());
        node.put("errorType", t.getClass().getName());
        ArrayNode trace = node.putArray("stackTrace");
        StackTraceElement[] frames = t.getStackTrace();
        int shown = 0;
        for (StackTraceElement f : frames) {
            // The runtime's own frames say nothing to the function's author.
            if (f.getClassName().startsWith(RUNTIME_PACKAGE) || shown++ >= MAX_FRAMES) {
                continue;
            }
            trace.add(f.getClassName() + "." + f.getMethodName() + "("
                    + (f.getFileName() == null ? "Unknown Source" : f.getFileName())
                    + (f.getLineNumber() >= 0 ? ":" + f.getLineNumber() : "") + ")");
        }
        Throwable cause = t.getCause();
        if (cause != null && cause != t && depth < MAX_CAUSES) {
            node.set("cause", node(mapper, cause, depth + 1));
        }
        return node;
    }
}
