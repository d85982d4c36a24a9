package dev.bramble.daemon;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.AliasConfiguration;
import software.amazon.awssdk.services.lambda.model.FunctionConfiguration;
import software.amazon.awssdk.services.lambda.model.GetAccountSettingsResponse;
import software.amazon.awssdk.services.lambda.model.GetFunctionResponse;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;
import software.amazon.awssdk.services.lambda.model.LambdaException;
import software.amazon.awssdk.services.lambda.model.ResourceNotFoundException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The device's Lambda API as the AWS SDK for Java v2 calls it: Invoke and the read calls (ListFunctions,
 * GetFunction, GetFunctionConfiguration, ListVersionsByFunction, ListAliases, GetAlias, GetAccountSettings), with
 * full and partial ARNs, signed with the admin credential; and what a caller without it gets.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LambdaFunctionsApiTest {
    @TempDir
    static Path dir;
    TestDaemon d;
    LambdaClient lambda;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "");
        d.deployOk(Bundles.withManifest(Bundles.example("echo"), dir, """
                {"name": "reader", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo",
                 "description": "one", "memoryMb": 160, "timeoutSeconds": 7, "environment": {"STAGE": "one"}}"""));
        d.deploy(Bundles.withManifest(Bundles.example("echo"), dir, """
                {"name": "reader", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo",
                 "description": "two", "memoryMb": 192, "environment": {"STAGE": "two"}}"""), "?alias=beta");
        d.deployOk(Bundles.example("echo"));
        lambda = d.lambda();
    }

    @AfterAll
    void stop() {
        lambda.close();
        d.close();
    }

    @Test
    void listFunctionsAndGetFunctionGiveLambdasShapes() throws Exception {
        List<FunctionConfiguration> all = lambda.listFunctions().functions();
        assertThat(all).extracting(FunctionConfiguration::functionName).containsExactly("echo", "reader");
        FunctionConfiguration reader = all.get(1);
        assertThat(reader.version()).isEqualTo("$LATEST");
        assertThat(reader.functionArn()).isEqualTo("arn:aws:lambda:local:000000000000:function:reader");
        assertThat(reader.runtimeAsString()).isEqualTo("java21");
        assertThat(reader.handler()).isEqualTo("dev.bramble.examples.echo.Echo");
        assertThat(reader.memorySize()).isEqualTo(192);
        assertThat(reader.description()).isEqualTo("two");
        assertThat(reader.environment().variables()).containsEntry("STAGE", "two");
        assertThat(reader.lastModified()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\+0000");

        GetFunctionResponse one = lambda.getFunction(b -> b.functionName("reader").qualifier("1"));
        assertThat(one.configuration().version()).isEqualTo("1");
        assertThat(one.configuration().functionArn()).endsWith(":function:reader:1");
        assertThat(one.configuration().timeout()).isEqualTo(7);
        assertThat(one.configuration().environment().variables()).containsEntry("STAGE", "one");
        // CodeSha256 is the base64 of the bundle's SHA-256, as Lambda gives it
        String hex = d.get("/v1/functions/reader").json().at("/versions/0/sha256").asText();
        assertThat(one.configuration().codeSha256()).isEqualTo(Base64.getEncoder().encodeToString(
                HexFormat.of().parseHex(hex)));
        assertThat(one.configuration().codeSize()).isPositive();
    }

    @Test
    void fullAndPartialArnsNameTheSameFunction() {
        for (String name : List.of("reader:beta", "arn:aws:lambda:local:000000000000:function:reader:beta",
                "000000000000:function:reader:beta")) {
            var c = lambda.getFunctionConfiguration(b -> b.functionName(name));
            assertThat(c.version()).as(name).isEqualTo("2");
            assertThat(c.description()).as(name).isEqualTo("two");
        }
        InvokeResponse r = lambda.invoke(b -> b.functionName("000000000000:function:reader:1")
                .payload(SdkBytes.fromString("{\"hi\": 1}", StandardCharsets.UTF_8)));
        assertThat(r.executedVersion()).isEqualTo("1");
        assertThat(r.payload().asUtf8String()).contains("\"hi\"");
    }

    @Test
    void versionsAndAliasesAreListed() {
        assertThat(lambda.listVersionsByFunction(b -> b.functionName("reader")).versions())
                .extracting(FunctionConfiguration::version).containsExactly("$LATEST", "1", "2");
        List<AliasConfiguration> aliases = lambda.listAliases(b -> b.functionName("reader")).aliases();
        assertThat(aliases).extracting(AliasConfiguration::name).containsExactly("beta", "live");
        assertThat(aliases).extracting(AliasConfiguration::functionVersion).containsExactly("2", "1");
        var beta = lambda.getAlias(b -> b.functionName("reader").name("beta"));
        assertThat(beta.aliasArn()).isEqualTo("arn:aws:lambda:local:000000000000:function:reader:beta");
        assertThat(beta.functionVersion()).isEqualTo("2");
        assertThat(lambda.listAliases(b -> b.functionName("reader").functionVersion("1")).aliases())
                .extracting(AliasConfiguration::name).containsExactly("live");
        // paging: one at a time, NextMarker to the next
        var first = lambda.listVersionsByFunction(b -> b.functionName("reader").maxItems(1));
        assertThat(first.versions()).hasSize(1);
        var second = lambda.listVersionsByFunction(b -> b.functionName("reader").maxItems(1)
                .marker(first.nextMarker()));
        assertThat(second.versions()).extracting(FunctionConfiguration::version).containsExactly("1");
    }

    @Test
    void accountSettingsCountWhatIsDeployed() {
        GetAccountSettingsResponse s = lambda.getAccountSettings();
        assertThat(s.accountUsage().functionCount()).isEqualTo(2);
        assertThat(s.accountUsage().totalCodeSize()).isPositive();
        assertThat(s.accountLimit().codeSizeZipped()).isPositive();
    }

    @Test
    void anUnknownFunctionIsA404ThatNamesOnlyIt() {
        assertThatThrownBy(() -> lambda.getFunction(b -> b.functionName("nope")))
                .isInstanceOf(ResourceNotFoundException.class)
                .hasMessageContaining("Function not found: arn:aws:lambda:local:000000000000:function:nope")
                .hasMessageNotContaining("reader").hasMessageNotContaining("echo");
        assertThatThrownBy(() -> lambda.getFunction(b -> b.functionName("reader").qualifier("9")))
                .isInstanceOf(ResourceNotFoundException.class).hasMessageContaining("function:reader:9");
        assertThatThrownBy(() -> lambda.getAlias(b -> b.functionName("reader").name("gamma")))
                .isInstanceOf(ResourceNotFoundException.class).hasMessageContaining("function:reader:gamma");
        assertThatThrownBy(() -> lambda.listVersionsByFunction(b -> b.functionName("reader").marker("x")))
                .isInstanceOf(LambdaException.class).hasMessageContaining("Marker 'x' is not allowed");
    }

    @Test
    void withoutTheAdminCredentialTheConfigurationIsNotShown() throws Exception {
        // Environment variables are in a configuration: a wrong secret, another key id and no signature are refused.
        try (LambdaClient wrong = d.lambda("bramble-admin", "not-the-token");
             LambdaClient other = d.lambda("AKIAOTHER", d.token())) {
            assertThatThrownBy(wrong::listFunctions).isInstanceOf(LambdaException.class)
                    .hasMessageContaining("signature we calculated does not match")
                    .satisfies(e -> assertThat(((LambdaException) e).statusCode()).isEqualTo(403));
            assertThatThrownBy(other::listFunctions).isInstanceOf(LambdaException.class)
                    .hasMessageContaining("the access key id for this API is bramble-admin");
        }
        TestDaemon.Response anonymous = d.anonymous("GET", "/2015-03-31/functions/reader", null);
        assertThat(anonymous.status()).isEqualTo(403);
        assertThat(anonymous.text()).doesNotContain("STAGE").contains("sign the request");
        assertThat(anonymous.header("X-Amzn-ErrorType").orElse("")).contains("MissingAuthenticationTokenException");
        assertThat(d.get("/2015-03-31/functions/reader/configuration").json().path("Environment")
                .path("Variables").path("STAGE").asText()).as("the bearer token works too").isEqualTo("two");
    }
}
