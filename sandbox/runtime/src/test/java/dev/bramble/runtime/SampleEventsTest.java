package dev.bramble.runtime;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.*;
import com.amazonaws.services.lambda.runtime.events.models.dynamodb.AttributeValue;
import com.amazonaws.services.lambda.runtime.events.models.s3.S3EventNotification;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Date;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sample events AWS publishes with {@code aws-lambda-java-tests} (copied to {@code aws-sample-events/}, see its
 * README), mapped by the runtime's {@link Serializers} into the {@code aws-lambda-java-events} types: every field
 * survives a round trip, and the fields Lambda's own mapping adapts (dates in the units each service sends, byte
 * buffers from base64, Joda times, renamed properties) read as the handler expects.
 */
class SampleEventsTest {
    private static final ObjectMapper TREES = new ObjectMapper();

    static Stream<Arguments> everyEventType() {
        return Stream.of(
                // The types Lambda's runtime adapts (mixins, date modules, its own S3 reader).
                of(APIGatewayProxyRequestEvent.class, "apigw_rest_event.json"),
                of(CloudFormationCustomResourceEvent.class, "cloudformation_event.json"),
                of(CloudFrontEvent.class, "cloudfront_event.json"),
                of(CloudWatchLogsEvent.class, "cloudwatchlogs_event.json"),
                of(CodeCommitEvent.class, "codecommit_event.json"),
                of(CognitoEvent.class, "cognito_sync_event.json"),
                of(ConfigEvent.class, "config_event.json"),
                of(ConnectEvent.class, "connect_event.json"),
                of(DynamodbEvent.class, "ddb/dynamo_event_roundtrip.json"),
                of(DynamodbTimeWindowEvent.class, "ddb/dynamo_time_window_event.json"),
                of(IoTButtonEvent.class, "iot_button_event.json"),
                of(KinesisEvent.class, "kinesis/kinesis_event_roundtrip.json"),
                of(KinesisTimeWindowEvent.class, "kinesis/kinesis_time_window_event.json"),
                of(KinesisFirehoseEvent.class, "firehose_event.json"),
                of(LambdaDestinationEvent.class, "lambda_destination_event.json"),
                of(LexEvent.class, "lex_event_roundtrip.json"),
                of(ScheduledEvent.class, "cloudwatch_event.json"),
                of(SecretsManagerRotationEvent.class, "secrets_rotation_event.json"),
                of(S3Event.class, "s3_event.json"),
                of(S3EventNotification.class, "s3_event.json"),
                of(SNSEvent.class, "sns_event.json"),
                of(SQSEvent.class, "sqs/sqs_event_nobody.json"),
                // The types it maps with its plain POJO mapper.
                of(APIGatewayV2HTTPEvent.class, "apigw_http_event.json"),
                of(APIGatewayV2WebSocketEvent.class, "apigw_websocket_event.json"),
                of(APIGatewayCustomAuthorizerEvent.class, "apigw_auth.json"),
                of(ApplicationLoadBalancerRequestEvent.class, "elb_event.json"),
                of(AppSyncLambdaAuthorizerEvent.class, "appsync_authorizer_event.json"),
                of(CloudWatchCompositeAlarmEvent.class, "cloudwatch_composite_alarm.json"),
                of(CloudWatchMetricAlarmEvent.class, "cloudwatch_metric_alarm.json"),
                of(CognitoUserPoolPreSignUpEvent.class, "cognito/cognito_userpool_presignup.json"),
                of(CognitoUserPoolPostConfirmationEvent.class, "cognito/cognito_userpool_postconfirmation.json"),
                of(CognitoUserPoolPreAuthenticationEvent.class, "cognito/cognito_userpool_preauthentication.json"),
                of(CognitoUserPoolPostAuthenticationEvent.class, "cognito/cognito_userpool_postauthentication.json"),
                of(CognitoUserPoolDefineAuthChallengeEvent.class,
                        "cognito/cognito_userpool_define_auth_challenge.json"),
                of(CognitoUserPoolCreateAuthChallengeEvent.class,
                        "cognito/cognito_userpool_create_auth_challenge.json"),
                of(CognitoUserPoolVerifyAuthChallengeResponseEvent.class,
                        "cognito/cognito_userpool_verify_auth_challenge.json"),
                of(CognitoUserPoolMigrateUserEvent.class, "cognito/cognito_userpool_migrate_user.json"),
                of(CognitoUserPoolCustomMessageEvent.class, "cognito/cognito_userpool_custom_message.json"),
                of(CognitoUserPoolPreTokenGenerationEvent.class, "cognito/cognito_userpool_pre_token_generation.json"),
                of(CognitoUserPoolPreTokenGenerationEventV2.class,
                        "cognito_user_pool_pre_token_generation_event_v2.json"),
                of(KafkaEvent.class, "kafka_event_roundtrip.json"),
                of(KinesisAnalyticsFirehoseInputPreprocessingEvent.class,
                        "kinesis/kinesis_analytics_firehose_input_preprocessing.json"),
                of(KinesisAnalyticsStreamsInputPreprocessingEvent.class,
                        "kinesis/kinesis_analytics_streams_input_preprocessing.json"),
                of(KinesisAnalyticsOutputDeliveryEvent.class, "kinesis/kinesis_analytics_output_delivery.json"),
                of(MSKFirehoseEvent.class, "msk_firehose_event_roundtrip.json"),
                of(RabbitMQEvent.class, "rabbitmq_event_roundtrip.json"),
                of(S3BatchEvent.class, "s3_batch_event.json"),
                of(S3BatchEventV2.class, "s3_batch_event_v2.json"),
                // Responses a handler returns.
                of(APIGatewayProxyResponseEvent.class, "response/apigw_proxy_response.json"),
                of(APIGatewayV2HTTPResponse.class, "response/apigw_v2_http_response.json"),
                of(APIGatewayV2WebSocketResponse.class, "response/apigw_v2_websocket_response.json"),
                of(ApplicationLoadBalancerResponseEvent.class, "response/alb_response.json"),
                of(MSKFirehoseResponse.class, "response/msk_firehose_response.json"),
                of(S3BatchResponse.class, "response/s3_batch_response.json"),
                of(SimpleIAMPolicyResponse.class, "response/simple_iam_policy_response.json"),
                of(SQSBatchResponse.class, "response/sqs_batch_response.json"));
    }

    private static Arguments of(Class<?> type, String sample) {
        return Arguments.of(type.getSimpleName() + " ← " + sample, type, sample);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("everyEventType")
    void everyFieldOfTheSampleSurvivesTwoRoundTrips(String name, Class<?> type, String sample) throws IOException {
        PojoSerializer<Object> serializer = serializers().forType(type);
        byte[] original = sample(sample);
        byte[] once = write(serializer, serializer.fromJson(new ByteArrayInputStream(original)));
        byte[] twice = write(serializer, serializer.fromJson(new ByteArrayInputStream(once)));
        JsonNode expected = withoutNulls(TREES.readTree(original));
        assertThat(same(expected, TREES.readTree(once)))
                .as("first round trip of %s:%n%s", sample, new String(once, StandardCharsets.UTF_8)).isTrue();
        assertThat(same(expected, TREES.readTree(twice)))
                .as("second round trip of %s:%n%s", sample, new String(twice, StandardCharsets.UTF_8)).isTrue();
    }

    @Test
    void s3EventsAreReadByLambdasOwnS3Reader() throws IOException {
        S3Event event = read(S3Event.class, "s3_event.json");
        var record = event.getRecords().getFirst();
        assertThat(record.getEventName()).isEqualTo("ObjectCreated:Put");
        assertThat(record.getS3().getBucket().getName()).isEqualTo("example-bucket");
        assertThat(record.getS3().getObject().getKey()).isEqualTo("test/key");
        assertThat(record.getS3().getObject().getSizeAsLong()).isEqualTo(1024L);
        assertThat(record.getEventTime().getMillis()).isZero();
    }

    @Test
    void kinesisArrivalTimesAreEpochSecondsAndDataIsBase64() throws IOException {
        KinesisEvent event = read(KinesisEvent.class, "kinesis_event.json");
        var record = event.getRecords().getFirst().getKinesis();
        assertThat(record.getApproximateArrivalTimestamp()).isEqualTo(new Date(1_428_537_600_000L));
        assertThat(StandardCharsets.UTF_8.decode(record.getData()).toString())
                .isEqualTo("Hello, this is a test 123.");
        assertThat(record.getPartitionKey()).isEqualTo("partitionKey-03");
    }

    @Test
    void dynamodbCreationTimesAreEpochSecondsAndAttributesKeepTheirTypes() throws IOException {
        DynamodbEvent event = read(DynamodbEvent.class, "ddb/dynamo_event.json");
        var record = event.getRecords().getFirst();
        assertThat(record.getEventName()).isEqualTo("INSERT");
        assertThat(record.getDynamodb().getApproximateCreationDateTime()).isEqualTo(new Date(1_428_537_600_000L));
        Map<String, AttributeValue> image = record.getDynamodb().getNewImage();
        assertThat(image.get("Message").getS()).isEqualTo("New item!");
        assertThat(image.get("Id").getN()).isEqualTo("101");
        assertThat(record.getDynamodb().getSizeBytes()).isEqualTo(26L);
    }

    @Test
    void snsSqsAndScheduledEventsKeepLambdasPropertyNamesAndTimes() throws IOException {
        SNSEvent sns = read(SNSEvent.class, "sns_event.json");
        assertThat(sns.getRecords().getFirst().getSNS().getSubject()).isEqualTo("Test sns message");
        assertThat(sns.getRecords().getFirst().getSNS().getTimestamp().getMillis())
                .isEqualTo(java.time.Instant.parse("2020-10-08T16:06:14.656Z").toEpochMilli());
        assertThat(sns.getRecords().getFirst().getSNS().getMessageAttributes().get("name").getType())
                .isEqualTo("String");

        SQSEvent sqs = read(SQSEvent.class, "sqs/sqs_event_product.json");
        assertThat(sqs.getRecords().getFirst().getBody()).contains("Product1234");
        assertThat(sqs.getRecords().getFirst().getEventSourceArn()).startsWith("arn:aws:sqs:eu-central-1");
        assertThat(sqs.getRecords().getFirst().getAttributes()).containsEntry("ApproximateReceiveCount", "1");

        ScheduledEvent scheduled = read(ScheduledEvent.class, "cloudwatch_event.json");
        assertThat(scheduled.getDetailType()).isEqualTo("Scheduled Event");
        assertThat(scheduled.getTime().getMillis())
                .isEqualTo(java.time.Instant.parse("2020-09-30T15:58:34Z").toEpochMilli());
    }

    @Test
    void httpEventsCarryTheirRequests() throws IOException {
        APIGatewayProxyRequestEvent rest = read(APIGatewayProxyRequestEvent.class, "apigw/events/apigw_event.json");
        assertThat(rest.getHttpMethod()).isEqualTo("POST");
        assertThat(rest.getBody()).isEqualTo("{\"message\": \"Lambda rocks\"}");
        assertThat(rest.getQueryStringParameters()).containsEntry("foo", "bar");

        APIGatewayV2HTTPEvent http = read(APIGatewayV2HTTPEvent.class, "apigw_http_event.json");
        assertThat(http.getRawPath()).isEqualTo("/my/path");
        assertThat(http.getCookies()).contains("cookie1");
        assertThat(http.getRequestContext().getAuthorizer().getJwt().getScopes()).contains("scope1");

        ApplicationLoadBalancerRequestEvent alb = read(ApplicationLoadBalancerRequestEvent.class, "elb_event.json");
        assertThat(alb.getHttpMethod()).isNotBlank();
    }

    @Test
    void brokerAndStreamRecordsDecodeTheirPayloads() throws IOException {
        KafkaEvent kafka = read(KafkaEvent.class, "kafka_event.json");
        var kafkaRecord = kafka.getRecords().values().iterator().next().getFirst();
        assertThat(kafkaRecord.getTopic()).isNotBlank();
        assertThat(kafkaRecord.getValue()).isNotBlank();

        KinesisFirehoseEvent firehose = read(KinesisFirehoseEvent.class, "firehose_event.json");
        assertThat(firehose.getRecords().getFirst().getData().remaining()).isPositive();

        RabbitMQEvent rabbit = read(RabbitMQEvent.class, "rabbitmq_event.json");
        assertThat(rabbit.getRmqMessagesByQueue()).containsKey("test::/");
        assertThat(rabbit.getRmqMessagesByQueue().get("test::/").getFirst().getBasicProperties().getPriority())
                .isEqualTo(34);
    }

    /**
     * Where Lambda's own mapping loses a field, Bramble loses the same one: a handler behaves as it does on Lambda.
     * These assert Lambda's behaviour, so that a change in the library shows here.
     */
    @Test
    void theSamplesLambdaItselfMapsLossilyLoseWhatTheyLoseOnLambda() throws IOException {
        // ActiveMQ's "physicalname" does not match the bean's physicalName (Lambda's mapper is case-sensitive).
        ActiveMQEvent mq = read(ActiveMQEvent.class, "mq_event.json");
        assertThat(mq.getMessages().getFirst().getMessageID()).startsWith("ID:b-9bcfa592");
        assertThat(mq.getMessages().getFirst().getDestination().getPhysicalName()).isNull();
        // S3 Object Lambda's xAmzRequestId becomes XAmzRequestId under standard bean naming.
        S3ObjectLambdaEvent objectLambda = read(S3ObjectLambdaEvent.class, "s3_object_lambda_event.json");
        assertThat(objectLambda.getGetObjectContext().getOutputRoute()).isEqualTo("io-use1-001");
        assertThat(objectLambda.getXAmzRequestId()).isNull();
    }

    @Test
    void pojosTakeASingleValueForAListAndAOneElementListForAValue() throws IOException {
        PojoSerializer<Object> orders = serializers().forType(Order.class);
        Order order = (Order) orders.fromJson("{\"items\":\"bolt\",\"quantity\":[7],\"unknown\":{\"x\":1}}");
        assertThat(order.items).containsExactly("bolt");
        assertThat(order.quantity).isEqualTo(7);
    }

    @Test
    void aHandlersResultLeavesNullsOut() throws Throwable {
        Handler handler = Handler.load(Summarise.class.getName(), getClass().getClassLoader());
        byte[] out = handler.invoke(sample("s3_event.json"), null);
        assertThat(new String(out, StandardCharsets.UTF_8))
                .isEqualTo("{\"items\":[\"example-bucket/test/key\"],\"quantity\":1}");
    }

    /** A handler over S3 events whose result has a null field. */
    public static class Summarise implements RequestHandler<S3Event, Order> {
        @Override
        public Order handleRequest(S3Event event, Context context) {
            Order order = new Order();
            order.items = event.getRecords().stream()
                    .map(r -> r.getS3().getBucket().getName() + "/" + r.getS3().getObject().getKey()).toList();
            order.quantity = order.items.size();
            return order;
        }
    }

    /** A POJO as Lambda's samples write them. */
    public static class Order {
        public List<String> items;
        public int quantity;
        public String note;
    }

    @Test
    void aFunctionsOwnCustomPojoSerializerIsUsedForEveryTypeAndOnlyOneIsAllowed(@org.junit.jupiter.api.io.TempDir
                                                                                 Path dir) throws Exception {
        Path services = dir.resolve("one/META-INF/services");
        java.nio.file.Files.createDirectories(services);
        java.nio.file.Files.writeString(services.resolve(
                "com.amazonaws.services.lambda.runtime.CustomPojoSerializer"), Shouting.class.getName() + "\n");
        try (var loader = new java.net.URLClassLoader(new java.net.URL[]{dir.resolve("one").toUri().toURL()},
                getClass().getClassLoader())) {
            PojoSerializer<Object> strings = Serializers.forFunction(loader).forType(String.class);
            assertThat(strings.fromJson("\"quiet\"")).isEqualTo("QUIET");
            assertThat(write(strings, "x")).asString(StandardCharsets.UTF_8).isEqualTo("<x>");
        }
        Path two = dir.resolve("two/META-INF/services");
        java.nio.file.Files.createDirectories(two);
        java.nio.file.Files.writeString(two.resolve("com.amazonaws.services.lambda.runtime.CustomPojoSerializer"),
                Shouting.class.getName() + "\n" + Whispering.class.getName() + "\n");
        try (var loader = new java.net.URLClassLoader(new java.net.URL[]{dir.resolve("two").toUri().toURL()},
                getClass().getClassLoader())) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Serializers.forFunction(loader))
                    .isInstanceOf(Handler.InitFailure.class).hasMessageContaining("at most one is allowed");
        }
    }

    /** A function's own serializer, as Lambda's docs have one registered in META-INF/services. */
    public static class Shouting implements com.amazonaws.services.lambda.runtime.CustomPojoSerializer {
        @Override
        @SuppressWarnings("unchecked")
        public <T> T fromJson(InputStream input, java.lang.reflect.Type type) {
            try {
                return fromJson(new String(input.readAllBytes(), StandardCharsets.UTF_8), type);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T fromJson(String input, java.lang.reflect.Type type) {
            return (T) input.replace("\"", "").toUpperCase(java.util.Locale.ROOT);
        }

        @Override
        public <T> void toJson(T value, java.io.OutputStream output, java.lang.reflect.Type type) {
            try {
                output.write(("<" + value + ">").getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A second one, which makes the function's serializer ambiguous. */
    public static class Whispering extends Shouting {
    }

    @Test
    void typeArgumentsAreFoundThroughGenericSuperclasses() {
        assertThat(Serializers.typeArguments(Concrete.class, RequestHandler.class))
                .containsExactly(SQSEvent.class, String.class);
        assertThat(Serializers.typeArguments(Raw.class, RequestHandler.class))
                .containsExactly(Object.class, Object.class);
    }

    abstract static class Base<I> implements RequestHandler<I, String> {
    }

    static class Concrete extends Base<SQSEvent> {
        @Override
        public String handleRequest(SQSEvent input, Context context) {
            return "";
        }
    }

    @SuppressWarnings("rawtypes")
    static class Raw implements RequestHandler {
        @Override
        public Object handleRequest(Object input, Context context) {
            return null;
        }
    }

    private static Serializers serializers() {
        try {
            return Serializers.forFunction(SampleEventsTest.class.getClassLoader());
        } catch (Handler.InitFailure e) {
            throw new AssertionError(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> T read(Class<T> type, String sample) throws IOException {
        return (T) serializers().forType(type).fromJson(new ByteArrayInputStream(sample(sample)));
    }

    private static byte[] sample(String name) throws IOException {
        try (InputStream in = SampleEventsTest.class.getResourceAsStream("/aws-sample-events/" + name)) {
            if (in == null) {
                throw new UncheckedIOException(new IOException("no sample event " + name));
            }
            return in.readAllBytes();
        }
    }

    private static final java.time.format.DateTimeFormatter ISO_TIME = new java.time.format.DateTimeFormatterBuilder()
            .append(java.time.format.DateTimeFormatter.ISO_LOCAL_DATE_TIME)
            .optionalStart().appendOffset("+HH:MM", "Z").optionalEnd()
            .optionalStart().appendOffset("+HHMM", "Z").optionalEnd()
            .toFormatter();

    private static java.time.Instant instant(String text) {
        try {
            return java.time.OffsetDateTime.parse(text, ISO_TIME).toInstant();
        } catch (java.time.format.DateTimeParseException notATime) {
            return null;
        }
    }

    private static byte[] write(PojoSerializer<Object> serializer, Object value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        serializer.toJson(value, out);
        return out.toByteArray();
    }

    /** Lambda's mapper writes no nulls, so a sample's explicit nulls are not expected back. */
    private static JsonNode withoutNulls(JsonNode node) {
        if (node.isObject()) {
            ObjectNode copy = TREES.createObjectNode();
            node.properties().forEach(e -> {
                if (!e.getValue().isNull()) {
                    copy.set(e.getKey(), withoutNulls(e.getValue()));
                }
            });
            return copy;
        }
        if (node.isArray()) {
            var copy = TREES.createArrayNode();
            node.forEach(n -> copy.add(withoutNulls(n)));
            return copy;
        }
        return node;
    }

    /**
     * Equal trees, numbers compared by value ({@code 1428537600} and {@code 1428537600.0} are one time) and
     * ISO-8601 times by instant ({@code 2016-01-01T23:59:59.000+0000} is written back as {@code …000Z}).
     */
    private static boolean same(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            return new BigDecimal(a.asText()).compareTo(new BigDecimal(b.asText())) == 0;
        }
        if (a.isTextual() && b.isTextual() && !a.equals(b)) {
            java.time.Instant left = instant(a.asText());
            return left != null && left.equals(instant(b.asText()));
        }
        if (a.isObject() && b.isObject()) {
            if (a.size() != b.size()) {
                return false;
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = a.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!b.has(e.getKey()) || !same(e.getValue(), b.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        if (a.isArray() && b.isArray()) {
            if (a.size() != b.size()) {
                return false;
            }
            for (int i = 0; i < a.size(); i++) {
                if (!same(a.get(i), b.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }
}
