package dev.bramble.runtime;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A loaded handler: everything that can be resolved once (class, method, instance, the serializers of its input
 * and output types) is resolved by {@link #load}, so an invocation does no lookups.
 */
sealed interface Handler {

    /** Runs one invocation: JSON payload in, JSON result out. */
    byte[] invoke(byte[] payload, Context context) throws Throwable;

    /**
     * Loads and constructs a handler named {@code pkg.Class} or {@code pkg.Class::method}.
     *
     * @throws InitFailure with Lambda's error object when the class or method is missing or the constructor throws
     */
    static Handler load(String handlerName, ClassLoader loader) throws InitFailure {
        int sep = handlerName.indexOf("::");
        String className = sep < 0 ? handlerName : handlerName.substring(0, sep);
        String methodName = sep < 0 ? null : handlerName.substring(sep + 2);
        Class<?> type;
        try {
            type = Class.forName(className, true, loader);
        } catch (ClassNotFoundException e) {
            throw InitFailure.importError("Class not found: " + className, null);
        } catch (ExceptionInInitializerError e) {
            throw InitFailure.of(e.getCause() == null ? e : e.getCause());
        } catch (LinkageError e) {
            throw InitFailure.importError("Class " + className + " could not be linked: " + e, e);
        }
        boolean byInterface = methodName == null || methodName.equals("handleRequest");
        if (byInterface && RequestStreamHandler.class.isAssignableFrom(type)) {
            return new Stream((RequestStreamHandler) construct(type));
        }
        if (byInterface && RequestHandler.class.isAssignableFrom(type)) {
            Type[] params = Serializers.typeArguments(type, RequestHandler.class);
            Serializers serializers = Serializers.forFunction(loader);
            @SuppressWarnings("unchecked")
            RequestHandler<Object, Object> handler = (RequestHandler<Object, Object>) construct(type);
            return new Typed(handler, serializers.forType(params[0]), serializers.forType(params[1]));
        }
        if (methodName == null) {
            throw InitFailure.importError("Class " + className + " implements neither RequestHandler nor "
                    + "RequestStreamHandler; name a method as " + className + "::method", null);
        }
        return byMethod(type, methodName, loader);
    }

    private static Handler byMethod(Class<?> type, String methodName, ClassLoader loader) throws InitFailure {
        List<Method> candidates = Arrays.stream(type.getMethods())
                .filter(m -> m.getName().equals(methodName) && !m.isBridge() && m.getParameterCount() <= 3)
                .sorted(Comparator.comparingInt(Method::getParameterCount).reversed())
                .toList();
        if (candidates.isEmpty()) {
            throw InitFailure.importError("No public method named " + methodName + " with at most 3 parameters in "
                    + type.getName(), null);
        }
        Method method = candidates.getFirst();
        Object instance = Modifier.isStatic(method.getModifiers()) ? null : construct(type);
        Class<?>[] p = method.getParameterTypes();
        boolean stream = p.length >= 2 && p[0] == InputStream.class && p[1] == OutputStream.class;
        if (stream) {
            return new Stream((in, out, ctx) -> call(method, instance, p.length == 3
                    ? new Object[]{in, out, ctx} : new Object[]{in, out}));
        }
        if (p.length >= 2 && p[1] != Context.class || p.length == 3) {
            throw InitFailure.importError("Method " + type.getName() + "::" + methodName + " must take (input), "
                    + "(input, Context) or (InputStream, OutputStream[, Context])", null);
        }
        Serializers serializers = Serializers.forFunction(loader);
        Type input = p.length == 0 ? Object.class : method.getGenericParameterTypes()[0];
        RequestHandler<Object, Object> adapter = (event, ctx) -> call(method, instance, switch (p.length) {
            case 0 -> new Object[0];
            case 1 -> new Object[]{event};
            default -> new Object[]{event, ctx};
        });
        Type output = method.getReturnType() == void.class ? Object.class : method.getGenericReturnType();
        return new Typed(adapter, serializers.forType(input), serializers.forType(output));
    }

    private static Object call(Method method, Object instance, Object[] args) {
        try {
            return method.invoke(instance, args);
        } catch (InvocationTargetException e) {
            throw new HandlerThrew(e.getCause());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Object construct(Class<?> type) throws InitFailure {
        try {
            Constructor<?> c = type.getConstructor();
            return c.newInstance();
        } catch (NoSuchMethodException e) {
            throw InitFailure.importError("Class " + type.getName() + " has no public no-argument constructor", null);
        } catch (InvocationTargetException e) {
            throw InitFailure.of(e.getCause());
        } catch (ReflectiveOperationException | LinkageError e) {
            throw InitFailure.of(e);
        }
    }

    /** A handler's own exception, carried through reflection without a wrapper in the error object. */
    final class HandlerThrew extends RuntimeException {
        HandlerThrew(Throwable cause) {
            super(cause);
        }
    }

    /**
     * A {@link RequestHandler}, or a method with the same shape: JSON is mapped to the input type, the result from
     * the output type.
     */
    record Typed(RequestHandler<Object, Object> handler, PojoSerializer<Object> input, PojoSerializer<Object> output)
            implements Handler {
        @Override
        public byte[] invoke(byte[] payload, Context context) throws Throwable {
            Object event;
            try {
                event = payload.length == 0 ? null : input.fromJson(new ByteArrayInputStream(payload));
            } catch (Exception e) {
                throw new RuntimeException("An error occurred during JSON parsing", e);
            }
            Object result;
            try {
                result = handler.handleRequest(event, context);
            } catch (HandlerThrew e) {
                throw e.getCause();
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                output.toJson(result, out);
            } catch (Exception e) {
                throw new RuntimeException("An error occurred during JSON serialization of response", e);
            }
            return out.toByteArray();
        }
    }

    /** A {@link RequestStreamHandler}: bytes in, bytes out, untouched. */
    record Stream(RequestStreamHandler handler) implements Handler {
        @Override
        public byte[] invoke(byte[] payload, Context context) throws Throwable {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                handler.handleRequest(new ByteArrayInputStream(payload), out, context);
            } catch (HandlerThrew e) {
                throw e.getCause();
            }
            return out.toByteArray();
        }
    }

    /** The handler could not be initialised; {@link #error()} is Lambda's error object for it. */
    final class InitFailure extends Exception {
        private final transient Throwable reason;
        private final String type;

        private InitFailure(String type, String message, Throwable reason) {
            super(message, reason);
            this.type = type;
            this.reason = reason;
        }

        static InitFailure importError(String message, Throwable cause) {
            return new InitFailure("Runtime.ImportModuleError", message, cause);
        }

        static InitFailure of(Throwable thrown) {
            return new InitFailure(null, String.valueOf(thrown.getMessage()), thrown);
        }

        byte[] error() {
            return type == null ? ErrorObject.of(reason) : ErrorObject.of(type, getMessage(), reason);
        }
    }
}
