package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The Invoke API over real HTTP, against a real daemon running real child JVMs. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InvokeApiTest {
    private static final Pattern STREAM = Pattern.compile("\"logStreamName\":\"([^\"]+)\"");
    @TempDir
    static Path dir;
    TestDaemon d;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "");
        d.deployOk(Bundles.example("echo"));
        d.deployOk(Bundles.example("hello"));
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("misbehave", "")));
    }

    @AfterAll
    void stop() {
        d.close();
    }

    @Test
    void aResponseOverLambdasSixMegabytesIsLambdasErrorAndTheEnvironmentServesOn() {
        assertThat(d.invoke("misbehave", "{\"responseKb\": 5000}").header("X-Amz-Function-Error")).isEmpty();
        for (int kb : new int[]{7000, 12000}) { // within the channel's 8 MB frame, and past it
            TestDaemon.Response r = d.invoke("misbehave", "{\"responseKb\": " + kb + "}");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("X-Amz-Function-Error")).contains("Unhandled");
            assertThat(r.json().path("errorType").asText()).as(r.text()).isEqualTo("Function.ResponseSizeTooLarge");
            assertThat(r.json().path("errorMessage").asText()).isEqualTo(
                    "Response payload size exceeded maximum allowed payload size (6291556 bytes).");
        }
        // A function writing its own frame header on the channel, claiming 100 MB: the same error; that
        // environment is gone and the next call gets a new one.
        TestDaemon.Response forged = d.invoke("misbehave", "{\"rawFrameLength\": 104857600}");
        assertThat(forged.json().path("errorType").asText()).as(forged.text())
                .isEqualTo("Function.ResponseSizeTooLarge");
        TestDaemon.Response next = d.invoke("misbehave", "{}", "X-Amz-Log-Type", "Tail");
        assertThat(next.header("X-Amz-Function-Error")).isEmpty();
        assertThat(next.logTail()).contains("Init Duration");
    }

    @Test
    void echoReturnsItsEventAndTheContextFacts() {
        TestDaemon.Response r = d.invoke("echo", "{\"a\":1,\"nested\":{\"b\":[true,null]}}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("X-Amz-Executed-Version")).contains("1");
        assertThat(r.header("X-Amz-Function-Error")).isEmpty();
        assertThat(r.header("Content-Type")).contains("application/json");
        JsonNode body = r.json();
        assertThat(body.get("a").asInt()).isEqualTo(1);
        assertThat(body.at("/nested/b/0").asBoolean()).isTrue();
        JsonNode ctx = body.get("context");
        assertThat(ctx.get("functionName").asText()).isEqualTo("echo");
        assertThat(ctx.get("functionVersion").asText()).isEqualTo("1");
        assertThat(ctx.get("memoryLimitInMB").asInt()).isEqualTo(128);
        assertThat(ctx.get("awsRequestId").asText()).isEqualTo(r.header("X-Amzn-RequestId").orElseThrow());
        assertThat(ctx.get("invokedFunctionArn").asText()).isEqualTo("arn:aws:lambda:local:000000000000:function:echo");
        assertThat(ctx.get("remainingTimeInMillis").asInt()).isBetween(1, 5000);
        assertThat(ctx.get("logGroupName").asText()).isEqualTo("/aws/lambda/echo");
        assertThat(ctx.get("handler").asText()).isEqualTo("dev.bramble.examples.echo.Echo");
        assertThat(Path.of(ctx.get("taskRoot").asText())).startsWith(d.dataDir().resolve("functions/echo/1"));
    }

    @Test
    void helloTakesAnApiGatewayV2EventThroughTheInvokeApi() {
        String event = """
                {"version":"2.0","routeKey":"$default","rawPath":"/","rawQueryString":"name=Ada",
                 "queryStringParameters":{"name":"Ada"},"headers":{"host":"device"},"isBase64Encoded":false,
                 "requestContext":{"http":{"method":"GET","path":"/"}}}""";
        JsonNode body = d.invoke("hello", event).json();
        assertThat(body.get("statusCode").asInt()).isEqualTo(200);
        assertThat(body.get("body").asText()).isEqualTo("Hello, Ada!\n");
        assertThat(body.at("/headers/content-type").asText()).startsWith("text/plain");
        assertThat(body.get("isBase64Encoded").asBoolean()).isFalse();
    }

    @Test
    void secondCallReusesTheEnvironmentWithoutInitDuration() {
        d.deployOk(Bundles.withManifest(Bundles.example("echo"), dir, """
                {"name":"coldwarm","runtime":"java21","handler":"dev.bramble.examples.echo.Echo"}"""));
        TestDaemon.Response cold = d.invoke("coldwarm", "{}");
        TestDaemon.Response warm = d.invoke("coldwarm", "{}");
        assertThat(cold.logTail()).contains("START RequestId: " + cold.header("X-Amzn-RequestId").orElseThrow()
                + " Version: 1").containsPattern("REPORT RequestId: [0-9a-f-]{36}\tDuration: [0-9.]+ ms\t"
                + "Billed Duration: [0-9]+ ms\tMemory Size: 128 MB\tMax Memory Used: [0-9]+ MB\tInit Duration: [0-9.]+ ms");
        assertThat(warm.logTail()).contains("REPORT RequestId: " + warm.header("X-Amzn-RequestId").orElseThrow())
                .doesNotContain("Init Duration");
        assertThat(stream(warm)).isEqualTo(stream(cold));
    }

    @Test
    void qualifiersSelectVersionsAndAliases() {
        Path v1 = Bundles.withManifest(Bundles.example("echo"), dir, """
                {"name":"qual","runtime":"java21","handler":"dev.bramble.examples.echo.Echo","description":"one"}""");
        Path v2 = Bundles.withManifest(Bundles.example("echo"), dir, """
                {"name":"qual","runtime":"java21","handler":"dev.bramble.examples.echo.Echo","description":"two"}""");
        assertThat(d.deployOk(v1).get("version").asInt()).isEqualTo(1);
        JsonNode beta = d.deploy(v2, "?alias=beta").json();
        assertThat(beta.get("version").asInt()).isEqualTo(2);
        assertThat(beta.get("alias").asText()).isEqualTo("beta");
        assertThat(d.invoke("qual", "{}").header("X-Amz-Executed-Version")).contains("1");
        assertThat(d.invoke("qual", "{}", "X-Unused", "x").header("X-Amz-Executed-Version")).contains("1");
        assertThat(d.send("POST", "/2015-03-31/functions/qual/invocations?Qualifier=beta", "{}".getBytes())
                .header("X-Amz-Executed-Version")).contains("2");
        assertThat(d.invoke("qual:2", "{}").header("X-Amz-Executed-Version")).contains("2");
        assertThat(d.invoke("qual:$LATEST", "{}").header("X-Amz-Executed-Version")).contains("2");
        assertThat(d.invoke("arn:aws:lambda:local:000000000000:function:qual:1", "{}")
                .header("X-Amz-Executed-Version")).contains("1");
        TestDaemon.Response missing = d.invoke("qual:7", "{}");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().get("message").asText()).contains("qual:7").contains("versions: [1, 2]")
                .contains("aliases: [beta, live]");
        // The same bundle again publishes nothing new; it only moves the alias.
        JsonNode again = d.deploy(v2, "").json();
        assertThat(again.get("version").asInt()).isEqualTo(2);
        assertThat(again.get("created").asBoolean()).isFalse();
        assertThat(d.invoke("qual", "{}").header("X-Amz-Executed-Version")).contains("2");
    }

    @Test
    void dryRunChecksWithoutRunning() {
        TestDaemon.Response r = d.send("POST", "/2015-03-31/functions/echo/invocations", "{}".getBytes(),
                "X-Amz-Invocation-Type", "DryRun");
        assertThat(r.status()).isEqualTo(204);
        assertThat(r.header("X-Amz-Executed-Version")).contains("1");
        assertThat(d.send("POST", "/2015-03-31/functions/nope/invocations", "{}".getBytes(),
                "X-Amz-Invocation-Type", "DryRun").status()).isEqualTo(404);
    }

    @Test
    void clientContextReachesTheFunction() {
        String cc = Base64.getEncoder().encodeToString("{\"custom\":{\"k\":\"v\"}}".getBytes(StandardCharsets.UTF_8));
        JsonNode body = d.invoke("echo", "{}", "X-Amz-Client-Context", cc).json();
        assertThat(body.at("/context/clientContextCustom/k").asText()).isEqualTo("v");
        TestDaemon.Response bad = d.invoke("echo", "{}", "X-Amz-Client-Context", "not base64!");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.header("X-Amzn-ErrorType")).contains("InvalidRequestContentException");
    }

    @Test
    void thrownExceptionIsLambdasErrorObjectAndTheNextCallSucceeds() {
        TestDaemon.Response r = d.invoke("misbehave", "{\"throw\":\"boom\"}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("X-Amz-Function-Error")).contains("Unhandled");
        JsonNode error = r.json();
        assertThat(error.get("errorMessage").asText()).isEqualTo("boom");
        assertThat(error.get("errorType").asText()).isEqualTo("java.lang.IllegalStateException");
        assertThat(error.get("stackTrace").get(0).asText())
                .startsWith("dev.bramble.examples.misbehave.Misbehave.handleRequest(Misbehave.java:");
        assertThat(error.get("stackTrace").toString()).doesNotContain("dev.bramble.runtime");
        TestDaemon.Response next = d.invoke("misbehave", "{}");
        assertThat(next.status()).isEqualTo(200);
        assertThat(next.header("X-Amz-Function-Error")).isEmpty();
    }

    @Test
    void timeoutKillsTheEnvironmentAndTheNextCallColdStarts() {
        TestDaemon.Response before = d.invoke("misbehave", "{\"logLines\":1}");
        TestDaemon.Response r = d.invoke("misbehave", "{\"sleepMs\":10000}");
        String id = r.header("X-Amzn-RequestId").orElseThrow();
        assertThat(r.header("X-Amz-Function-Error")).contains("Unhandled");
        assertThat(r.json().get("errorMessage").asText())
                .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z " + id + " Task timed out after 2.00 seconds");
        assertThat(r.logTail()).contains("Task timed out after 2.00 seconds").contains("END RequestId: " + id);
        TestDaemon.Response next = d.invoke("misbehave", "{\"logLines\":1}");
        assertThat(next.header("X-Amz-Function-Error")).isEmpty();
        assertThat(next.logTail()).contains("Init Duration");
        assertThat(streamOf(next)).isNotEqualTo(streamOf(before));
    }

    @Test
    void exitIsRuntimeExitErrorAndTheNextCallColdStarts() {
        TestDaemon.Response r = d.invoke("misbehave", "{\"exit\":3}");
        String id = r.header("X-Amzn-RequestId").orElseThrow();
        assertThat(r.header("X-Amz-Function-Error")).contains("Unhandled");
        assertThat(r.json().get("errorType").asText()).isEqualTo("Runtime.ExitError");
        assertThat(r.json().get("errorMessage").asText())
                .isEqualTo("RequestId: " + id + " Error: Runtime exited with error: exit status 3");
        assertThat(r.logTail()).contains("exiting with 3");
        TestDaemon.Response next = d.invoke("misbehave", "{}");
        assertThat(next.header("X-Amz-Function-Error")).isEmpty();
        assertThat(next.logTail()).contains("Init Duration");
    }

    @Test
    void unknownFunctionIs404ResourceNotFound() {
        TestDaemon.Response r = d.invoke("thermo", "{}");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.header("X-Amzn-ErrorType")).contains("ResourceNotFoundException");
        assertThat(r.json().get("Type").asText()).isEqualTo("User");
        assertThat(r.json().get("message").asText()).contains("thermo").contains("echo").contains("hello");
    }

    @Test
    void payloadOverSixMegabytesIs413() {
        byte[] big = new byte[7 * 1024 * 1024];
        java.util.Arrays.fill(big, (byte) ' ');
        big[0] = '"';
        big[big.length - 1] = '"';
        TestDaemon.Response r = d.send("POST", "/2015-03-31/functions/echo/invocations", big);
        assertThat(r.status()).isEqualTo(413);
        assertThat(r.header("X-Amzn-ErrorType")).contains("RequestTooLargeException");
        assertThat(d.invoke("echo", "{}").status()).isEqualTo(200);
    }

    @Test
    void nonJsonBodyIs400WithTheParseError() {
        TestDaemon.Response r = d.invoke("echo", "hello there");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.header("X-Amzn-ErrorType")).contains("InvalidRequestContentException");
        assertThat(r.json().get("message").asText()).startsWith("Could not parse request body into json")
                .contains("hello");
    }

    @Test
    void unknownInvocationTypeAndLogTypeAreRejected() {
        TestDaemon.Response type = d.send("POST", "/2015-03-31/functions/echo/invocations", "{}".getBytes(),
                "X-Amz-Invocation-Type", "Sometimes");
        assertThat(type.status()).isEqualTo(400);
        assertThat(type.json().get("message").asText()).contains("Sometimes").contains("RequestResponse");
        TestDaemon.Response log = d.send("POST", "/2015-03-31/functions/echo/invocations", "{}".getBytes(),
                "X-Amz-Log-Type", "All");
        assertThat(log.status()).isEqualTo(400);
        assertThat(log.json().get("message").asText()).contains("[None, Tail]");
    }

    private static String stream(TestDaemon.Response r) {
        Matcher m = STREAM.matcher(r.text());
        assertThat(m.find()).as("logStreamName in %s", r.text()).isTrue();
        return m.group(1);
    }

    private String streamOf(TestDaemon.Response r) {
        String id = r.header("X-Amzn-RequestId").orElseThrow();
        JsonNode events = d.get("/v1/functions/misbehave/logs?limit=10000").json().get("events");
        for (JsonNode e : events) {
            if (id.equals(e.path("requestId").asText())) {
                return e.get("stream").asText();
            }
        }
        throw new AssertionError("no log line of request " + id);
    }

    @Test
    void dotSegmentsCannotMoveARequestFromTheInvokeApiToAnAdminRoute() throws Exception {
        java.net.URI base = java.net.URI.create(d.base());
        for (String path : java.util.List.of("/2015-03-31/functions/x/../../../v1/status",
                "/2015-03-31/functions/x/%2e%2e/%2E%2E/../v1/status", "/fn/x/..%2f..%2fv1/status",
                "/v1/./status")) {
            // A raw socket: an HTTP client library might normalise the path before it is sent.
            try (java.net.Socket s = new java.net.Socket(base.getHost(), base.getPort())) {
                s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close"
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                s.setSoTimeout(10_000);
                String answer = rawResponse(s.getInputStream());
                assertThat(answer).as(path).startsWith("HTTP/1.1 400").doesNotContain("\"isolation\"");
                if (answer.contains("InvalidRequestException")) {
                    assertThat(answer).contains("has '.' or '..' segments");
                }
            }
        }
        assertThat(d.get("/v1/status").status()).isEqualTo(200);
    }

    /** One HTTP/1.1 response read off a socket: the head, then Content-Length bytes of body. */
    private static String rawResponse(java.io.InputStream in) throws java.io.IOException {
        java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
        }
        String h = head.toString(StandardCharsets.ISO_8859_1);
        Matcher m = Pattern.compile("(?im)^content-length:\\s*(\\d+)").matcher(h);
        byte[] body = m.find() ? in.readNBytes(Integer.parseInt(m.group(1))) : new byte[0];
        return h + new String(body, StandardCharsets.UTF_8);
    }
}
