package dev.bramble.runtime;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.UndeclaredThrowableException;
import java.nio.charset.StandardCharsets;

/**
 * Turns exceptions into Lambda's error object: {@code errorMessage, errorType, stackTrace, cause}.
 *
 * <p>Written by hand rather than by the function's mapper: an error object is made when something has gone wrong,
 * perhaps with the heap nearly full, and the first one in an environment must not pay for a serializer to be built
 * (about 50 ms at a cold start, measured; this costs well under one).
 */
final class ErrorObject {
    private static final int MAX_FRAMES = 50;
    private static final int MAX_CAUSES = 5;
    private static final String RUNTIME_PACKAGE = ErrorObject.class.getPackageName() + ".";

    private ErrorObject() {
    }

    static byte[] of(Throwable t) {
        try {
            StringBuilder json = new StringBuilder(512);
            write(json, unwrap(t), 0);
            return json.toString().getBytes(StandardCharsets.UTF_8);
        } catch (RuntimeException | StackOverflowError e) {
            return ("{\"errorMessage\":\"error while reporting an error\",\"errorType\":\""
                    + e.getClass().getName() + "\"}").getBytes(StandardCharsets.UTF_8);
        }
    }

    /** An error object with a chosen type, such as {@code Runtime.ImportModuleError}. */
    static byte[] of(String type, String message, Throwable cause) {
        StringBuilder json = new StringBuilder(256);
        json.append("{\"errorMessage\":");
        string(json, message);
        json.append(",\"errorType\":");
        string(json, type);
        json.append(",\"stackTrace\":[]");
        if (cause != null) {
            json.append(",\"cause\":");
            write(json, unwrap(cause), 1);
        }
        return json.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    static Throwable unwrap(Throwable t) {
        Throwable current = t;
        while ((current instanceof InvocationTargetException || current instanceof UndeclaredThrowableException)
                && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }

    private static void write(StringBuilder json, Throwable t, int depth) {
        json.append("{\"errorMessage\":");
        string(json, t.getMessage() == null ? t.getClass().getName() : t.getMessage());
        json.append(",\"errorType\":");
        string(json, t.getClass().getName());
        json.append(",\"stackTrace\":[");
        int shown = 0;
        for (StackTraceElement f : t.getStackTrace()) {
            // The runtime's own frames say nothing to the function's author.
            if (f.getClassName().startsWith(RUNTIME_PACKAGE) || shown >= MAX_FRAMES) {
                continue;
            }
            if (shown++ > 0) {
                json.append(',');
            }
            string(json, f.getClassName() + "." + f.getMethodName() + "("
                    + (f.getFileName() == null ? "Unknown Source" : f.getFileName())
                    + (f.getLineNumber() >= 0 ? ":" + f.getLineNumber() : "") + ")");
        }
        json.append(']');
        Throwable cause = t.getCause();
        if (cause != null && cause != t && depth < MAX_CAUSES) {
            json.append(",\"cause\":");
            write(json, cause, depth + 1);
        }
        json.append('}');
    }

    /** A JSON string (RFC 8259): quotes, backslashes and control characters escaped. */
    static void string(StringBuilder json, String s) {
        json.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20) {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        json.append('"');
    }
}
