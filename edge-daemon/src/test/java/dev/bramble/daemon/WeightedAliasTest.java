package dev.bramble.daemon;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.InvalidParameterValueException;
import software.amazon.awssdk.services.lambda.model.ResourceConflictException;
import software.amazon.awssdk.services.lambda.model.ResourceNotFoundException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Lambda's weighted aliases ({@code RoutingConfig.AdditionalVersionWeights}) on the device: set by a canary
 * deployment or by the AWS SDK's CreateAlias and UpdateAlias, chosen afresh for every call, said in
 * {@code X-Amz-Executed-Version}, and kept across a restart.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WeightedAliasTest {
    private static final String V1 = """
            {"name": "canary", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo", "memoryMb": 96,
             "environment": {"STAGE": "one"}}""";
    private static final String V2 = V1.replace("\"one\"", "\"two\"");
    @TempDir
    static Path dir;
    TestDaemon d;
    LambdaClient lambda;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "");
        lambda = d.lambda();
    }

    @AfterAll
    void stop() {
        lambda.close();
        d.close();
    }

    /** How many of {@code calls} invocations of {@code qualifier} each version ran, by X-Amz-Executed-Version. */
    private Map<String, Integer> spread(String qualifier, int calls) {
        Map<String, Integer> ran = new TreeMap<>();
        for (int i = 0; i < calls; i++) {
            var r = lambda.invoke(b -> {
                b.functionName("canary").payload(SdkBytes.fromString("{\"n\": 1}", StandardCharsets.UTF_8));
                if (qualifier != null) {
                    b.qualifier(qualifier);
                }
            });
            assertThat(r.functionError()).isNull();
            ran.merge(r.executedVersion(), 1, Integer::sum);
        }
        return ran;
    }

    @Test
    @Order(1)
    void aCanaryDeploymentSendsItsShareToTheNewVersionAndTheRestStays() {
        TestDaemon.Response first = d.deploy(Bundles.withManifest(Bundles.example("echo"), dir, V1), "?weight=0.2");
        assertThat(first.status()).isEqualTo(400);
        assertThat(first.text()).contains("needs alias 'live' already at an earlier version");
        d.deployOk(Bundles.withManifest(Bundles.example("echo"), dir, V1));
        assertThat(d.deploy(Bundles.withManifest(Bundles.example("echo"), dir, V2), "?weight=1.5").text())
                .contains("weight '1.5' is not allowed; use a share from 0.0 to 1.0");

        TestDaemon.Response canary = d.deploy(Bundles.withManifest(Bundles.example("echo"), dir, V2),
                "?weight=0.25");
        assertThat(canary.status()).isEqualTo(201);
        assertThat(canary.json().get("version").asInt()).isEqualTo(2);
        assertThat(canary.json().get("weight").asDouble()).isEqualTo(0.25);

        var live = lambda.getAlias(b -> b.functionName("canary").name("live"));
        assertThat(live.functionVersion()).isEqualTo("1");
        assertThat(live.routingConfig().additionalVersionWeights()).containsExactly(Map.entry("2", 0.25));
        assertThat(d.get("/v1/functions/canary").json().at("/routing/live/version").asInt()).isEqualTo(2);

        // 400 calls at 25 %: 100 expected, σ ≈ 8.7; outside 55…145 is ~5 σ away.
        Map<String, Integer> ran = spread(null, 400);
        assertThat(ran.keySet()).containsExactly("1", "2");
        assertThat(ran.get("2")).isBetween(55, 145);
        assertThat(ran.get("1") + ran.get("2")).isEqualTo(400);
        // A version named outright is that version, whatever the alias's routing.
        assertThat(spread("2", 5)).containsExactly(Map.entry("2", 5));
    }

    @Test
    @Order(2)
    void theRoutingSurvivesARestart() {
        d.close();
        d = TestDaemon.start(dir.resolve("data"), "");
        lambda.close();
        lambda = d.lambda();
        var live = lambda.getAlias(b -> b.functionName("canary").name("live"));
        assertThat(live.functionVersion()).isEqualTo("1");
        assertThat(live.routingConfig().additionalVersionWeights()).containsExactly(Map.entry("2", 0.25));
        assertThat(spread(null, 80).keySet()).containsExactly("1", "2");
    }

    @Test
    @Order(3)
    void updateAliasShiftsClearsAndMovesTheRouting() {
        var shifted = lambda.updateAlias(b -> b.functionName("canary").name("live")
                .routingConfig(r -> r.additionalVersionWeights(Map.of("2", 0.75))));
        assertThat(shifted.functionVersion()).isEqualTo("1");
        assertThat(shifted.routingConfig().additionalVersionWeights()).containsExactly(Map.entry("2", 0.75));

        var cleared = lambda.updateAlias(b -> b.functionName("canary").name("live")
                .routingConfig(r -> r.additionalVersionWeights(Map.of())));
        assertThat(cleared.routingConfig()).isNull();
        assertThat(spread(null, 30)).containsExactly(Map.entry("1", 30));

        var promoted = lambda.updateAlias(b -> b.functionName("canary").name("live").functionVersion("2"));
        assertThat(promoted.functionVersion()).isEqualTo("2");
        assertThat(spread(null, 30)).containsExactly(Map.entry("2", 30));
    }

    @Test
    @Order(4)
    void createAliasWithRoutingAndWhatIsRefused() {
        var half = lambda.createAlias(b -> b.functionName("canary").name("half").functionVersion("1")
                .routingConfig(r -> r.additionalVersionWeights(Map.of("2", 0.5))));
        assertThat(half.aliasArn()).isEqualTo("arn:aws:lambda:local:000000000000:function:canary:half");
        assertThat(spread("half", 60).keySet()).containsExactly("1", "2");

        assertThatThrownBy(() -> lambda.createAlias(b -> b.functionName("canary").name("half").functionVersion("1")))
                .isInstanceOf(ResourceConflictException.class).hasMessageContaining("Alias already exists");
        assertThatThrownBy(() -> lambda.updateAlias(b -> b.functionName("canary").name("half")
                .routingConfig(r -> r.additionalVersionWeights(Map.of("2", 1.5)))))
                .isInstanceOf(InvalidParameterValueException.class)
                .hasMessageContaining("weight 1.5 for version 2 is not allowed; use a share from 0.0 to 1.0");
        assertThatThrownBy(() -> lambda.updateAlias(b -> b.functionName("canary").name("half")
                .routingConfig(r -> r.additionalVersionWeights(Map.of("2", 0.1, "1", 0.1)))))
                .isInstanceOf(InvalidParameterValueException.class)
                .hasMessageContaining("Lambda allows one additional version");
        assertThatThrownBy(() -> lambda.updateAlias(b -> b.functionName("canary").name("half")
                .routingConfig(r -> r.additionalVersionWeights(Map.of("1", 0.1)))))
                .isInstanceOf(InvalidParameterValueException.class)
                .hasMessageContaining("is the alias's own version");
        assertThatThrownBy(() -> lambda.updateAlias(b -> b.functionName("canary").name("half")
                .routingConfig(r -> r.additionalVersionWeights(Map.of("9", 0.1)))))
                .isInstanceOf(ResourceNotFoundException.class).hasMessageContaining("canary:9");
        assertThatThrownBy(() -> lambda.createAlias(b -> b.functionName("canary").name("x").functionVersion("$LATEST")))
                .isInstanceOf(InvalidParameterValueException.class).hasMessageContaining("name a published version");
        assertThatThrownBy(() -> lambda.updateAlias(b -> b.functionName("canary").name("nope").functionVersion("1")))
                .isInstanceOf(ResourceNotFoundException.class).hasMessageContaining("Alias not found");
        // What was refused changed nothing.
        var still = lambda.getAlias(b -> b.functionName("canary").name("half"));
        assertThat(still.functionVersion()).isEqualTo("1");
        assertThat(still.routingConfig().additionalVersionWeights()).containsExactly(Map.entry("2", 0.5));
        // A body over 16 KB is refused before anything is parsed or checked, with or without a credential.
        byte[] huge = ("{\"FunctionVersion\":\"2\",\"Description\":\"" + "x".repeat(20_000) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        assertThat(d.anonymous("PUT", "/2015-03-31/functions/canary/aliases/half", huge).status()).isEqualTo(413);
        assertThat(d.send("PUT", "/2015-03-31/functions/canary/aliases/half", huge).status()).isEqualTo(413);
        // Without the admin credential, no alias moves.
        assertThat(d.anonymous("PUT", "/2015-03-31/functions/canary/aliases/half",
                "{\"FunctionVersion\":\"2\"}".getBytes(StandardCharsets.UTF_8)).status()).isEqualTo(403);
        assertThat(lambda.getAlias(b -> b.functionName("canary").name("half")).functionVersion()).isEqualTo("1");
    }
}
