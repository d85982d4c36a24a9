package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Handlers written as AWS's Lambda Java docs write them, built against the published aws-lambda-java-core and
 * aws-lambda-java-events jars, run unchanged.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LambdaShapesTest {
    @TempDir
    static Path dir;
    TestDaemon d;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "");
    }

    @AfterAll
    void stop() {
        d.close();
    }

    private TestDaemon.Response run(String handler, String event) {
        String name = handler.replace("::", "-").toLowerCase();
        d.deployOk(Bundles.withManifest(Bundles.example("shapes"), dir, Bundles.shapes(name, handler)));
        return d.invoke(name, event);
    }

    @Test
    void typedPojoInAndOut() {
        JsonNode r = run("PojoHandler", "{\"item\":\"bolt\",\"quantity\":3,\"unitPrice\":0.5,\"extra\":1}").json();
        assertThat(r.get("item").asText()).isEqualTo("bolt");
        assertThat(r.get("total").asDouble()).isEqualTo(1.5);
    }

    @Test
    void mapInput() {
        assertThat(run("MapHandler", "{\"b\":\"2\",\"a\":\"1\"}").text()).isEqualTo("{\"a\":\"1\",\"b\":\"2\"}");
    }

    @Test
    void stringInput() {
        assertThat(run("StringHandler", "\"shout\"").text()).isEqualTo("\"SHOUT\"");
    }

    @Test
    void integerInput() {
        assertThat(run("IntegerHandler", "21").text()).isEqualTo("42");
    }

    @Test
    void listInputUsesTheGenericElementType() {
        assertThat(run("ListHandler", "[1,2,3,4]").text()).isEqualTo("10");
    }

    @Test
    void streamHandlerGetsTheRawBytes() {
        TestDaemon.Response r = run("StreamHandler", "{\"twelve\":1234}");
        assertThat(r.json().get("bytes").asInt()).isEqualTo(15);
        assertThat(r.json().get("requestId").asText()).isEqualTo(r.header("X-Amzn-RequestId").orElseThrow());
    }

    @Test
    void scheduledEventWithJodaTimeAndDetailType() {
        JsonNode r = run("ScheduledHandler", """
                {"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"Scheduled Event",
                 "source":"aws.events","account":"123456789012","time":"2026-11-22T10:00:00Z","region":"local",
                 "resources":["arn:aws:events:local:123456789012:rule/every-minute"],"detail":{}}""").json();
        assertThat(r.get("detailType").asText()).isEqualTo("Scheduled Event");
        assertThat(r.get("source").asText()).isEqualTo("aws.events");
        assertThat(r.get("year").asInt()).isEqualTo(2026);
        assertThat(r.get("hour").asInt()).isEqualTo(10);
        assertThat(r.get("resources").get(0).asText()).endsWith("rule/every-minute");
    }

    /** The events Lambda's own mapping adapts most, read in a real environment as on Lambda. */
    @Test
    void s3KinesisAndDynamodbEventsAreReadWithLambdasRules() {
        JsonNode s3 = run("StreamRecordsHandler::s3", """
                {"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-central-1",
                 "eventTime":"2026-11-22T10:00:00.000Z","eventName":"ObjectCreated:Put",
                 "s3":{"s3SchemaVersion":"1.0","bucket":{"name":"readings","arn":"arn:aws:s3:::readings"},
                 "object":{"key":"pi+7/2026-11-22.csv","size":2048,"eTag":"0123"}}}]}""").json();
        assertThat(s3.get("bucket").asText()).isEqualTo("readings");
        assertThat(s3.get("key").asText()).isEqualTo("pi 7/2026-11-22.csv");
        assertThat(s3.get("size").asLong()).isEqualTo(2048);
        assertThat(s3.get("eventTimeMs").asLong()).isEqualTo(java.time.Instant.parse("2026-11-22T10:00:00Z")
                .toEpochMilli());

        JsonNode kinesis = run("StreamRecordsHandler::kinesis", """
                {"Records":[{"kinesis":{"partitionKey":"p","kinesisSchemaVersion":"1.0",
                 "data":"SGVsbG8sIHRoaXMgaXMgYSB0ZXN0IDEyMy4=","sequenceNumber":"1",
                 "approximateArrivalTimestamp":1428537600.25},"eventSource":"aws:kinesis",
                 "eventName":"aws:kinesis:record"}]}""").json();
        assertThat(kinesis.get("arrivalMs").asLong()).isEqualTo(1_428_537_600_250L);
        assertThat(kinesis.get("data").asText()).isEqualTo("Hello, this is a test 123.");

        JsonNode dynamodb = run("StreamRecordsHandler::dynamodb", """
                {"Records":[{"eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{
                 "NewImage":{"Message":{"S":"New item!"},"Id":{"N":"101"}},"ApproximateCreationDateTime":1428537600,
                 "SequenceNumber":"1","SizeBytes":26,"StreamViewType":"NEW_AND_OLD_IMAGES"}}]}""").json();
        assertThat(dynamodb.get("createdMs").asLong()).isEqualTo(1_428_537_600_000L);
        assertThat(dynamodb.get("message").asText()).isEqualTo("New item!");
    }

    @Test
    void aPojoTakesOneValueForAListAndAOneElementListForANumber() {
        JsonNode r = run("PojoHandler", "{\"item\":[\"bolt\"],\"quantity\":[3],\"unitPrice\":0.5}").json();
        assertThat(r.get("item").asText()).isEqualTo("bolt");
        assertThat(r.get("total").asDouble()).isEqualTo(1.5);
    }

    @Test
    void functionBringsItsOwnJacksonWithoutClashing() {
        JsonNode r = run("OwnJackson", "{\"x\":[1,2]}").json();
        assertThat(r.get("jacksonVersion").asText()).isEqualTo("2.15.4");
        assertThat(r.get("serialized").asText()).isEqualTo("{\"x\":[1,2]}");
    }

    @Test
    void classAndMethodHandlerWithoutInterface() {
        assertThat(run("PlainMethod::greet", "{\"name\":\"Ada\"}").text()).isEqualTo("\"hi Ada from plainmethod-greet\"");
    }

    @Test
    void wrongJsonShapeForAPojoIsAJsonParsingError() {
        TestDaemon.Response r = run("IntegerHandler", "{\"not\":\"a number\"}");
        assertThat(r.header("X-Amz-Function-Error")).contains("Unhandled");
        assertThat(r.json().get("errorMessage").asText()).isEqualTo("An error occurred during JSON parsing");
        assertThat(r.json().at("/cause/errorMessage").asText()).contains("Integer");
    }

    @Test
    void constructorFailureIsAnInitErrorOfTheExceptionsType() {
        TestDaemon.Response r = run("BrokenConstructor", "{}");
        assertThat(r.header("X-Amz-Function-Error")).contains("Unhandled");
        assertThat(r.json().get("errorType").asText()).isEqualTo("java.lang.IllegalStateException");
        assertThat(r.json().get("errorMessage").asText()).isEqualTo("no database configured");
        assertThat(r.logTail()).contains("INIT_ERROR").contains("Init Duration");
    }

    @Test
    void missingMethodIsAnImportModuleError() {
        TestDaemon.Response r = run("PlainMethod::nothing", "{}");
        assertThat(r.json().get("errorType").asText()).isEqualTo("Runtime.ImportModuleError");
        assertThat(r.json().get("errorMessage").asText()).contains("nothing").contains("PlainMethod");
    }
}
