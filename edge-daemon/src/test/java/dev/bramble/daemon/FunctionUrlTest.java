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

import static org.assertj.core.api.Assertions.assertThat;

/** Function URLs: HTTP in as an API Gateway payload 2.0 event, the function's answer back out as HTTP. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FunctionUrlTest {
    @TempDir
    static Path dir;
    TestDaemon d;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "");
        d.deployOk(Bundles.example("hello"));
        d.deployOk(Bundles.example("echo"));
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("misbehave", "")));
    }

    @AfterAll
    void stop() {
        d.close();
    }

    @Test
    void helloGreetsTheNameInTheQuery() {
        TestDaemon.Response r = d.get("/fn/hello/?name=Ada");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).isEqualTo("Hello, Ada!\n");
        assertThat(r.header("content-type")).contains("text/plain; charset=utf-8");
        assertThat(d.get("/fn/hello").text()).isEqualTo("Hello, world!\n");
    }

    @Test
    void requestBecomesAPayload20Event() {
        byte[] body = "{\"k\":\"v\"}".getBytes(StandardCharsets.UTF_8);
        TestDaemon.Response r = d.send("PUT", "/fn/echo/things/42?a=1&a=2&b=x", body, "Content-Type",
                "application/json", "X-Custom", "one", "Cookie", "c1=v1; c2=v2", "User-Agent", "bramble-test");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("content-type")).contains("application/json");
        JsonNode e = r.json();
        assertThat(e.get("version").asText()).isEqualTo("2.0");
        assertThat(e.get("routeKey").asText()).isEqualTo("$default");
        assertThat(e.get("rawPath").asText()).isEqualTo("/things/42");
        assertThat(e.get("rawQueryString").asText()).isEqualTo("a=1&a=2&b=x");
        assertThat(e.at("/queryStringParameters/a").asText()).isEqualTo("1,2");
        assertThat(e.at("/queryStringParameters/b").asText()).isEqualTo("x");
        assertThat(e.at("/headers/x-custom").asText()).isEqualTo("one");
        assertThat(e.at("/headers/content-type").asText()).isEqualTo("application/json");
        assertThat(e.at("/headers/cookie").isMissingNode()).isTrue();
        assertThat(e.get("cookies").toString()).isEqualTo("[\"c1=v1\",\"c2=v2\"]");
        assertThat(e.get("body").asText()).isEqualTo("{\"k\":\"v\"}");
        assertThat(e.get("isBase64Encoded").asBoolean()).isFalse();
        JsonNode http = e.at("/requestContext/http");
        assertThat(http.get("method").asText()).isEqualTo("PUT");
        assertThat(http.get("path").asText()).isEqualTo("/things/42");
        assertThat(http.get("sourceIp").asText()).isEqualTo("127.0.0.1");
        assertThat(http.get("userAgent").asText()).isEqualTo("bramble-test");
        assertThat(e.at("/requestContext/requestId").asText()).isEqualTo(r.header("X-Amzn-RequestId").orElseThrow());
        assertThat(e.at("/requestContext/timeEpoch").asLong()).isPositive();
        assertThat(e.at("/requestContext/time").asText()).matches("\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d \\+0000");
    }

    @Test
    void binaryBodyArrivesBase64Encoded() {
        byte[] body = {0, 1, 2, (byte) 0xff, (byte) 0xfe};
        JsonNode e = d.send("POST", "/fn/echo/upload", body, "Content-Type", "application/octet-stream").json();
        assertThat(e.get("isBase64Encoded").asBoolean()).isTrue();
        assertThat(Base64.getDecoder().decode(e.get("body").asText())).isEqualTo(body);
        // Lambda base64-encodes what is not text: a form post, and a body without a Content-Type
        byte[] form = "a=1&b=two+words".getBytes(StandardCharsets.UTF_8);
        JsonNode posted = d.send("POST", "/fn/echo/form", form, "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8").json();
        assertThat(posted.get("isBase64Encoded").asBoolean()).isTrue();
        assertThat(Base64.getDecoder().decode(posted.get("body").asText())).isEqualTo(form);
        JsonNode untyped = d.send("POST", "/fn/echo/raw", "plain words".getBytes(StandardCharsets.UTF_8)).json();
        assertThat(untyped.get("isBase64Encoded").asBoolean()).isTrue();
        JsonNode text = d.send("POST", "/fn/echo/text", "plain words".getBytes(StandardCharsets.UTF_8),
                "Content-Type", "text/plain; charset=utf-8").json();
        assertThat(text.get("isBase64Encoded").asBoolean()).isFalse();
        assertThat(text.get("body").asText()).isEqualTo("plain words");
    }

    @Test
    void unknownFunctionIs404() {
        TestDaemon.Response r = d.get("/fn/nothing-here");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.header("X-Amzn-ErrorType")).contains("ResourceNotFoundException");
    }

    @Test
    void functionThatFailsAnswers502InternalServerError() {
        // An Integer handler cannot take a payload 2.0 event: the runtime reports a JSON parsing error.
        d.deployOk(Bundles.withManifest(Bundles.example("shapes"), dir, Bundles.shapes("url-broken",
                "IntegerHandler")));
        TestDaemon.Response r = d.get("/fn/url-broken");
        assertThat(r.status()).isEqualTo(502);
        assertThat(r.json().get("message").asText()).isEqualTo("Internal Server Error");
    }
}
