package dev.bramble.runtime;

import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;

import java.io.ByteArrayOutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.UndeclaredThrowableException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Turns exceptions into Lambda's error object: {@code errorMessage, errorType, stackTrace, cause}. */
final class ErrorObject {
    private static final int MAX_FRAMES = 50;
    private static final int MAX_CAUSES = 5;
    private static final String RUNTIME_PACKAGE = ErrorObject.class.getPackageName() + ".";
    private static final PojoSerializer<Shape> JSON = Serializers.own(Shape.class);

    private ErrorObject() {
    }

    /** The error object's JSON fields, in Lambda's order; a null {@code cause} is left out. */
    public static final class Shape {
        public final String errorMessage;
        public final String errorType;
        public final List<String> stackTrace;
        public final Shape cause;

        Shape(String errorMessage, String errorType, List<String> stackTrace, Shape cause) {
            this.errorMessage = errorMessage;
            this.errorType = errorType;
            this.stackTrace = stackTrace;
            this.cause = cause;
        }
    }

    static byte[] of(Throwable t) {
        try {
            return json(shape(unwrap(t), 0));
        } catch (RuntimeException | StackOverflowError e) {
            return ("{\"errorMessage\":\"error while reporting an error\",\"errorType\":\""
                    + e.getClass().getName() + "\"}").getBytes(StandardCharsets.UTF_8);
        }
    }

    /** An error object with a chosen type, such as {@code Runtime.ImportModuleError}. */
    static byte[] of(String type, String message, Throwable cause) {
        return json(new Shape(message, type, List.of(), cause == null ? null : shape(unwrap(cause), 1)));
    }

    private static byte[] json(Shape shape) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        JSON.toJson(shape, out);
        return out.toByteArray();
    }

    static Throwable unwrap(Throwable t) {
        Throwable current = t;
        while ((current instanceof InvocationTargetException || current instanceof UndeclaredThrowableException)
                && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }

    private static Shape shape(Throwable t, int depth) {
        List<String> trace = new ArrayList<>();
        int shown = 0;
        for (StackTraceElement f : t.getStackTrace()) {
            // The runtime's own frames say nothing to the function's author.
            if (f.getClassName().startsWith(RUNTIME_PACKAGE) || shown++ >= MAX_FRAMES) {
                continue;
            }
            trace.add(f.getClassName() + "." + f.getMethodName() + "("
                    + (f.getFileName() == null ? "Unknown Source" : f.getFileName())
                    + (f.getLineNumber() >= 0 ? ":" + f.getLineNumber() : "") + ")");
        }
        Throwable cause = t.getCause();
        return new Shape(t.getMessage() == null ? t.getClass().getName() : t.getMessage(), t.getClass().getName(),
                trace, cause != null && cause != t && depth < MAX_CAUSES ? shape(cause, depth + 1) : null);
    }
}
