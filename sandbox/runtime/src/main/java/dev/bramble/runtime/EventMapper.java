package dev.bramble.runtime;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.Version;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.Module;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationConfig;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.Deserializers;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.ser.Serializers;

import java.io.IOException;
import java.lang.reflect.Method;

/**
 * The JSON mapping between events and handler types, as Lambda's Java runtime does it.
 *
 * <p>POJOs, collections and boxed types map the plain Jackson way, ignoring unknown fields. The
 * {@code aws-lambda-java-events} types need two extras that Lambda's own serialisation adds: Joda
 * {@code DateTime} fields (found by name, in the function's class loader) as ISO-8601 strings, and
 * {@code ScheduledEvent.detailType} as {@code detail-type}. Jackson annotations in the function's own classes
 * are not honoured, exactly as on Lambda, where the runtime's Jackson is shaded.
 */
final class EventMapper {
    private static final String JODA_DATE_TIME = "org.joda.time.DateTime";
    private static final String SCHEDULED_EVENT = "com.amazonaws.services.lambda.runtime.events.ScheduledEvent";

    private EventMapper() {
    }

    /** The runtime's own mapper, for its frames and error objects. */
    static ObjectMapper plain() {
        return JsonMapper.builder().build();
    }

    /** A mapper for a function's events, aware of the event types its class loader can see. */
    static ObjectMapper forFunction(ClassLoader functionLoader) {
        ObjectMapper mapper = JsonMapper.builder()
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .build();
        mapper.registerModule(new Module() {
            @Override
            public String getModuleName() {
                return "bramble-lambda-events";
            }

            @Override
            public Version version() {
                return Version.unknownVersion();
            }

            @Override
            public void setupModule(SetupContext context) {
                context.addDeserializers(new JodaDeserializers());
                context.addSerializers(new JodaSerializers());
            }
        });
        try {
            mapper.addMixIn(Class.forName(SCHEDULED_EVENT, false, functionLoader), ScheduledEventNames.class);
        } catch (ClassNotFoundException | LinkageError absent) {
            // The function does not use aws-lambda-java-events; nothing to adapt.
        }
        return mapper;
    }

    /** Lambda's JSON names for ScheduledEvent, matched to the bean's accessors by signature. */
    abstract static class ScheduledEventNames {
        @JsonProperty("detail-type")
        abstract String getDetailType();

        @JsonProperty("detail-type")
        abstract void setDetailType(String detailType);
    }

    private static final class JodaDeserializers extends Deserializers.Base {
        @Override
        public JsonDeserializer<?> findBeanDeserializer(JavaType type, DeserializationConfig config,
                                                        BeanDescription beanDesc) {
            Class<?> raw = type.getRawClass();
            if (!raw.getName().equals(JODA_DATE_TIME)) {
                return null;
            }
            try {
                Method parse = raw.getMethod("parse", String.class);
                return new JsonDeserializer<>() {
                    @Override
                    public Object deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                        String text = p.getValueAsString();
                        try {
                            return parse.invoke(null, text);
                        } catch (ReflectiveOperationException e) {
                            return ctxt.handleWeirdStringValue(raw, text, "not an ISO-8601 date-time: %s",
                                    String.valueOf(ErrorObject.unwrap(e).getMessage()));
                        }
                    }
                };
            } catch (NoSuchMethodException e) {
                return null;
            }
        }
    }

    private static final class JodaSerializers extends Serializers.Base {
        @Override
        public JsonSerializer<?> findSerializer(SerializationConfig config, JavaType type, BeanDescription beanDesc) {
            if (!type.getRawClass().getName().equals(JODA_DATE_TIME)) {
                return null;
            }
            return new JsonSerializer<>() {
                @Override
                public void serialize(Object value, JsonGenerator gen, SerializerProvider serializers)
                        throws IOException {
                    gen.writeString(value.toString());
                }
            };
        }
    }
}
