package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A function invokes another only as Lambda lets it: granted in its manifest ({@code invokes}), signing with its
 * environment's own credentials, through the function gateway. The AWS SDK for Java 2.x inside a function does it
 * unchanged; AWS's own signer, outside, is how the tests forge, replay and tamper.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FunctionGatewayTest {
    /** Headers java.net.http sets itself. */
    private static final Set<String> RESTRICTED = Set.of("host", "content-length", "connection", "expect", "upgrade");
    @TempDir
    static Path dir;
    TestDaemon d;
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "", Clock.systemUTC(), Daemons.isRoot());
        d.deployOk(Bundles.example("echo"));
        d.deployOk(Bundles.example("invoker"));
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("holder",
                "\"invokes\": [\"echo\"]")));
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("plain", "")));
    }

    @AfterAll
    void stop() {
        if (d != null) {
            d.close();
        }
    }

    @Test
    void theAwsSdkInsideAGrantedFunctionInvokesAnotherUnchanged() {
        TestDaemon.Response r = d.invoke("invoker", "{\"function\": \"echo\", \"payload\": \"{\\\"from\\\": \\\"sdk\\\"}\"}");
        JsonNode out = r.json();
        assertThat(out.path("error").isMissingNode()).as(out.toString()).isTrue();
        assertThat(out.path("statusCode").asInt()).isEqualTo(200);
        assertThat(out.path("executedVersion").asText()).isEqualTo("1");
        assertThat(out.path("payload").asText()).contains("\"from\":\"sdk\"");
    }

    @Test
    void aFunctionNotGrantedTheTargetGetsLambdasAccessDenied() {
        JsonNode out = d.invoke("invoker", "{\"function\": \"plain\"}").json();
        assertThat(out.path("error").asText()).contains("not authorized to perform: lambda:InvokeFunction")
                .contains("function:plain").contains("Status Code: 403");
        assertThat(d.invoke("plain", "{\"getenv\": \"AWS_ACCESS_KEY_ID\"}").json().path("getenv").asText())
                .as("a function without grants has no credentials").isEqualTo("null");
    }

    @Test
    void unsignedForgedTamperedAndRevokedCallsAreRefused() throws Exception {
        Map<String, String> creds = credentialsOf("holder");
        String url = gateway() + "/2015-03-31/functions/echo/invocations";
        byte[] body = "{\"signed\":true}".getBytes(StandardCharsets.UTF_8);

        HttpResponse<String> ok = send(sign(url, body, creds.get("id"), creds.get("secret"), creds.get("token")), body);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(ok.body()).contains("\"signed\":true");

        assertThat(send(HttpRequest.newBuilder(URI.create(url)), body).body()).contains("Missing Authentication Token");
        HttpResponse<String> wrongSecret = send(sign(url, body, creds.get("id"), creds.get("secret") + "x",
                creds.get("token")), body);
        assertThat(wrongSecret.statusCode()).isEqualTo(403);
        assertThat(wrongSecret.headers().firstValue("X-Amzn-ErrorType")).contains("InvalidSignatureException");
        HttpResponse<String> tampered = send(sign(url, body, creds.get("id"), creds.get("secret"),
                creds.get("token")), "{\"signed\":false}".getBytes(StandardCharsets.UTF_8));
        assertThat(tampered.statusCode()).isEqualTo(403);
        HttpResponse<String> otherTarget = send(sign(gateway() + "/2015-03-31/functions/plain/invocations", body,
                creds.get("id"), creds.get("secret"), creds.get("token")), body);
        assertThat(otherTarget.statusCode()).isEqualTo(403);
        assertThat(otherTarget.headers().firstValue("X-Amzn-ErrorType")).contains("AccessDeniedException");
        HttpResponse<String> unknown = send(sign(url, body, "ASIAUNKNOWNUNKNOWN00", creds.get("secret"),
                creds.get("token")), body);
        assertThat(unknown.headers().firstValue("X-Amzn-ErrorType")).contains("UnrecognizedClientException");

        // The environment stops: its credentials die with it.
        assertThat(d.send("DELETE", "/v1/functions/holder/environments", null).status()).isEqualTo(200);
        HttpResponse<String> revoked = send(sign(url, body, creds.get("id"), creds.get("secret"),
                creds.get("token")), body);
        assertThat(revoked.statusCode()).isEqualTo(403);
        assertThat(revoked.headers().firstValue("X-Amzn-ErrorType")).contains("UnrecognizedClientException");
        assertThat(d.invoke("echo", "{}").status()).isEqualTo(200);
    }

    @Test
    void theGatewayServesTheInvokeApiOnly() throws Exception {
        for (String path : List.of("/v1/status", "/v1/health", "/metrics", "/fn/echo/")) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(gateway() + path)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(path).isEqualTo(404);
        }
    }

    /** The credentials a granted function's environment holds, as the function itself reads them. */
    private Map<String, String> credentialsOf(String function) {
        String id = getenv(function, "AWS_ACCESS_KEY_ID");
        assertThat(id).startsWith("ASIA");
        assertThat(getenv(function, "AWS_ENDPOINT_URL_LAMBDA")).isEqualTo(gateway());
        return Map.of("id", id, "secret", getenv(function, "AWS_SECRET_ACCESS_KEY"),
                "token", getenv(function, "AWS_SESSION_TOKEN"));
    }

    private String getenv(String function, String name) {
        return d.invoke(function, "{\"getenv\": \"" + name + "\"}").json().path("getenv").asText();
    }

    private String gateway() {
        return "http://127.0.0.1:" + d.daemon().gatewayPort();
    }

    /** A request signed by AWS's own SigV4 signer, as an SDK would sign it. */
    private static HttpRequest.Builder sign(String url, byte[] body, String id, String secret, String token) {
        SdkHttpRequest request = SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(URI.create(url))
                .putHeader("Content-Type", "application/json").build();
        SdkHttpRequest signed = AwsV4HttpSigner.create().sign(r -> r
                .identity(AwsSessionCredentialsIdentity.create(id, secret, token))
                .request(request)
                .payload(ContentStreamProvider.fromByteArray(body))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "lambda")
                .putProperty(AwsV4HttpSigner.REGION_NAME, "local")).request();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
        signed.headers().forEach((name, values) -> {
            if (!RESTRICTED.contains(name.toLowerCase())) {
                values.forEach(v -> b.header(name, v));
            }
        });
        return b;
    }

    private HttpResponse<String> send(HttpRequest.Builder b, byte[] body) throws IOException, InterruptedException {
        return http.send(b.POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
