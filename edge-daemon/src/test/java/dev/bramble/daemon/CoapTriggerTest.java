package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.eclipse.californium.core.CoapClient;
import org.eclipse.californium.core.CoapResponse;
import org.eclipse.californium.core.coap.CoAP.ResponseCode;
import org.eclipse.californium.core.coap.MediaTypeRegistry;
import org.eclipse.californium.core.config.CoapConfig;
import org.eclipse.californium.core.network.CoapEndpoint;
import org.eclipse.californium.elements.config.Configuration;
import org.eclipse.californium.elements.config.UdpConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** CoAP triggers, spoken to by a Californium client over real UDP. */
class CoapTriggerTest {
    @TempDir
    static Path tmp;
    private static TestDaemon daemon;
    private static CoapEndpoint endpoint;

    @BeforeAll
    static void start() {
        daemon = TestDaemon.start(tmp.resolve("data"), """
                coap:
                  bind: 127.0.0.1
                  port: 0
                  max-payload-bytes: 100000
                pool:
                  queue-timeout-ms: 0
                """);
        daemon.deployOk(Bundles.example("thermostat"));
        daemon.deployOk(Bundles.withManifest(Bundles.example("echo"), tmp, """
                {"name": "echo", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo", "memoryMb": 96,
                 "triggers": [{"type": "coap", "path": "mirror"}]}"""));
        daemon.deployOk(Bundles.withManifest(Bundles.example("misbehave"), tmp, Bundles.misbehave("slow",
                "\"timeoutSeconds\": 20, \"concurrency\": {\"reserved\": 1}, \"triggers\": [{\"type\": \"coap\"}]")));
        CoapConfig.register();
        UdpConfig.register();
        Configuration cfg = Configuration.createStandardWithoutFile();
        cfg.set(CoapConfig.MAX_RESOURCE_BODY_SIZE, 1 << 20);
        endpoint = new CoapEndpoint.Builder().setConfiguration(cfg).build();
    }

    @AfterAll
    static void stop() {
        if (endpoint != null) {
            endpoint.destroy();
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    private static CoapClient client(String path) {
        int port = daemon.daemon().triggers().coapPort().orElseThrow();
        CoapClient c = new CoapClient("coap://127.0.0.1:" + port + "/" + path);
        c.setEndpoint(endpoint);
        c.setTimeout(30_000L);
        return c;
    }

    private static JsonNode json(CoapResponse r) throws Exception {
        return TestDaemon.JSON.readTree(r.getPayload());
    }

    @Test
    void aJsonReadingIsAnsweredWithContent() throws Exception {
        CoapResponse r = client("fn/thermostat?sensor=hall").post("{\"celsius\": 15}",
                MediaTypeRegistry.APPLICATION_JSON);
        assertThat(r.getCode()).isEqualTo(ResponseCode.CONTENT);
        assertThat(r.getOptions().getContentFormat()).isEqualTo(MediaTypeRegistry.APPLICATION_JSON);
        assertThat(json(r).path("sensor").asText()).isEqualTo("hall");
        assertThat(json(r).path("command").asText()).isEqualTo("heat");
        CoapResponse put = client("fn/thermostat?sensor=porch").put("{\"celsius\": 22}",
                MediaTypeRegistry.APPLICATION_JSON);
        assertThat(json(put).path("command").asText()).isEqualTo("idle");
    }

    @Test
    void aFunctionErrorIs500WithTheErrorObject() throws Exception {
        CoapResponse r = client("fn/thermostat").get();
        assertThat(r.getCode()).isEqualTo(ResponseCode.INTERNAL_SERVER_ERROR);
        assertThat(json(r).path("errorType").asText()).isEqualTo("java.lang.IllegalArgumentException");
        assertThat(json(r).path("errorMessage").asText()).contains("no numeric 'celsius'");
    }

    @Test
    void unknownPathsAndFormatsAndBadJsonAreRefused() throws Exception {
        CoapResponse missing = client("fn/nope").post("{}", MediaTypeRegistry.APPLICATION_JSON);
        assertThat(missing.getCode()).isEqualTo(ResponseCode.NOT_FOUND);
        assertThat(missing.getResponseText()).contains("fn/nope");
        // echo is deployed, but its CoAP path is 'mirror': a function is served only where its trigger says.
        assertThat(client("fn/echo").get().getCode()).isEqualTo(ResponseCode.NOT_FOUND);
        assertThat(client("fn/mirror").post("hello", MediaTypeRegistry.TEXT_PLAIN).getCode())
                .isEqualTo(ResponseCode.UNSUPPORTED_CONTENT_FORMAT);
        assertThat(client("fn/mirror").post("{oops", MediaTypeRegistry.APPLICATION_JSON).getCode())
                .isEqualTo(ResponseCode.BAD_REQUEST);
    }

    @Test
    void sixtyFourKilobytesGoBlockWiseBothWaysAndMoreThanTheLimitIs413() throws Exception {
        byte[] blob = new byte[64 * 1024];
        new Random(7).nextBytes(blob);
        CoapResponse r = client("fn/mirror").post(blob, MediaTypeRegistry.APPLICATION_OCTET_STREAM);
        assertThat(r.getCode()).isEqualTo(ResponseCode.CONTENT);
        JsonNode echoed = json(r);
        assertThat(echoed.path("isBase64Encoded").asBoolean()).isTrue();
        assertThat(Base64.getDecoder().decode(echoed.path("payload").asText())).isEqualTo(blob);
        assertThat(echoed.path("method").asText()).isEqualTo("POST");
        assertThat(r.getPayload().length).isGreaterThan(64 * 1024); // came back in blocks too

        String bigJson = "{\"text\": \"" + "b".repeat(64 * 1024) + "\"}";
        CoapResponse j = client("fn/mirror").post(bigJson.getBytes(StandardCharsets.UTF_8),
                MediaTypeRegistry.APPLICATION_JSON);
        assertThat(json(j).path("payload").path("text").asText()).hasSize(64 * 1024);

        CoapResponse tooBig = client("fn/mirror").post(new byte[150_000], MediaTypeRegistry.APPLICATION_OCTET_STREAM);
        assertThat(tooBig.getCode()).isEqualTo(ResponseCode.REQUEST_ENTITY_TOO_LARGE);
    }

    @Test
    void aFunctionAtItsConcurrencyLimitAnswers503() throws Exception {
        CompletableFuture<CoapResponse> busy = CompletableFuture.supplyAsync(() -> {
            try {
                return client("fn/slow").post("{\"sleepMs\": 3000}", MediaTypeRegistry.APPLICATION_JSON);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().atMost(20, SECONDS).until(() -> daemon.get("/v1/functions/slow").json().path("environments")
                .findValuesAsText("state").contains("BUSY"));
        CoapResponse throttled = client("fn/slow").post("{}", MediaTypeRegistry.APPLICATION_JSON);
        assertThat(throttled.getCode()).isEqualTo(ResponseCode.SERVICE_UNAVAILABLE);
        assertThat(throttled.getOptions().getMaxAge()).isEqualTo(1L);
        assertThat(busy.get(30, SECONDS).getCode()).isEqualTo(ResponseCode.CONTENT);
        JsonNode counts = null;
        for (JsonNode t : daemon.get("/v1/status").json().path("triggers")) {
            if (t.path("function").asText().equals("slow")) {
                counts = t;
            }
        }
        assertThat(counts.path("received").asInt()).isEqualTo(2);
        assertThat(counts.path("dropped").asInt()).isEqualTo(1);
        assertThat(daemon.get("/v1/status").json().path("coap").path("state").asText()).isEqualTo("listening");
    }
}
