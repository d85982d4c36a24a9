package dev.bramble.runtime;

import com.amazonaws.services.lambda.runtime.CustomPojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import com.amazonaws.services.lambda.runtime.serialization.factories.JacksonFactory;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The JSON mapping between events and handler types: AWS's own, from {@code aws-lambda-java-serialization}, chosen
 * as Lambda's Java runtime chooses it.
 *
 * <ol>
 *   <li>a {@link CustomPojoSerializer} the function registers in {@code META-INF/services}, if it has one;</li>
 *   <li>for a type of {@code aws-lambda-java-events} that Lambda adapts (S3, Kinesis, DynamoDB, SNS, SQS, scheduled
 *       events and the rest), its serializer with the mixins, date units and Joda handling Lambda uses, the events
 *       classes loaded through the function's class loader;</li>
 *   <li>for everything else, Lambda's POJO mapper: unknown fields ignored, a single value taken for a list and a
 *       one-element list for a value, nulls left out of the output, {@code java.time} and {@code Optional}.</li>
 * </ol>
 *
 * <p>The library carries its own relocated Jackson, Gson and Joda, so none of them is on the function's class path
 * and a function brings whatever versions it likes.
 */
final class Serializers {
    private final ClassLoader functionLoader;
    private final CustomPojoSerializer custom;

    private Serializers(ClassLoader functionLoader, CustomPojoSerializer custom) {
        this.functionLoader = functionLoader;
        this.custom = custom;
    }

    /**
     * The serializers for a function's types.
     *
     * @throws Handler.InitFailure when the function registers more than one custom serializer, or one that cannot
     *                             be loaded
     */
    static Serializers forFunction(ClassLoader functionLoader) throws Handler.InitFailure {
        Iterator<CustomPojoSerializer> found;
        CustomPojoSerializer custom = null;
        try {
            found = ServiceLoader.load(CustomPojoSerializer.class, functionLoader).iterator();
            if (found.hasNext()) {
                custom = found.next();
                if (found.hasNext()) {
                    throw Handler.InitFailure.importError("More than one " + CustomPojoSerializer.class.getName()
                            + " in META-INF/services; at most one is allowed", null);
                }
            }
        } catch (java.util.ServiceConfigurationError e) {
            throw Handler.InitFailure.of(e);
        }
        return new Serializers(functionLoader, custom);
    }

    /** The runtime's own mapper, for the client context and error objects. */
    static <T> PojoSerializer<T> own(Class<T> type) {
        return JacksonFactory.getInstance().getSerializer(type);
    }

    /** The serializer for a handler's input or output type. */
    @SuppressWarnings("unchecked")
    PojoSerializer<Object> forType(Type type) {
        if (custom != null) {
            return new PojoSerializer<>() {
                @Override
                public Object fromJson(InputStream input) {
                    return custom.fromJson(input, type);
                }

                @Override
                public Object fromJson(String input) {
                    return custom.fromJson(input, type);
                }

                @Override
                public void toJson(Object value, OutputStream output) {
                    custom.toJson(value, output, type);
                }
            };
        }
        if (type instanceof Class<?> raw && LambdaEventSerializers.isLambdaSupportedEvent(raw.getName())) {
            return LambdaEventSerializers.serializerFor((Class<Object>) raw, functionLoader);
        }
        return JacksonFactory.getInstance().getSerializer(type);
    }

    /**
     * The type arguments {@code target} (a generic interface, such as {@code RequestHandler}) takes in
     * {@code type}'s hierarchy; a type variable left open reads as {@code Object}.
     */
    static Type[] typeArguments(Class<?> type, Class<?> target) {
        Type[] found = search(type, target, Map.of());
        if (found == null) {
            found = new Type[target.getTypeParameters().length];
            java.util.Arrays.fill(found, Object.class);
        }
        return found;
    }

    private static Type[] search(Class<?> type, Class<?> target, Map<TypeVariable<?>, Type> bound) {
        if (type == target) {
            TypeVariable<?>[] params = target.getTypeParameters();
            Type[] args = new Type[params.length];
            for (int i = 0; i < params.length; i++) {
                args[i] = closed(bound.getOrDefault(params[i], Object.class));
            }
            return args;
        }
        java.util.List<Type> supertypes = new java.util.ArrayList<>(java.util.List.of(type.getGenericInterfaces()));
        if (type.getGenericSuperclass() != null) {
            supertypes.add(type.getGenericSuperclass());
        }
        for (Type supertype : supertypes) {
            Class<?> raw;
            Map<TypeVariable<?>, Type> next = new HashMap<>();
            if (supertype instanceof ParameterizedType p) {
                raw = (Class<?>) p.getRawType();
                TypeVariable<?>[] params = raw.getTypeParameters();
                Type[] actual = p.getActualTypeArguments();
                for (int i = 0; i < params.length; i++) {
                    next.put(params[i], substitute(actual[i], bound));
                }
            } else if (supertype instanceof Class<?> c) {
                raw = c;
            } else {
                continue;
            }
            if (!target.isAssignableFrom(raw)) {
                continue;
            }
            Type[] found = search(raw, target, next);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    private static Type substitute(Type t, Map<TypeVariable<?>, Type> bound) {
        return t instanceof TypeVariable<?> v ? bound.getOrDefault(v, v) : t;
    }

    /** A type variable nobody bound, or an array of one, is read as {@code Object}, as Lambda reads it. */
    private static Type closed(Type t) {
        if (t instanceof TypeVariable<?> || t instanceof GenericArrayType g
                && g.getGenericComponentType() instanceof TypeVariable<?>) {
            return Object.class;
        }
        return t;
    }
}
