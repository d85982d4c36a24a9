package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * AWS's own Runtime API clients, unchanged, against the Runtime API a device serves: the Java Runtime Interface
 * Client as a {@code provided} runtime's bootstrap (the {@code java-ric} example), and Node's {@code aws-lambda-ric}
 * from npm. What they see of the API (headers, statuses, error calls) is what Lambda gives them, or they fail.
 * Python's {@code awslambdaric} cannot be had here: PyPI is not reachable from this project's machines.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AwsRuntimeClientsTest {
    @TempDir
    static Path dir;
    TestDaemon d;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "", Clock.systemUTC(), Daemons.isRoot());
    }

    @AfterAll
    void stop() {
        if (d != null) {
            d.close();
        }
    }

    @Test
    void awsJavaRuntimeInterfaceClientRunsAHandlerAsAProvidedRuntime() {
        // the device's java, whichever JDK runs these tests (java on PATH is the bootstrap's default)
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        d.deployOk(Bundles.withManifest(Bundles.example("java-ric"), dir, """
                {"name": "java-ric", "runtime": "provided", "handler": "dev.bramble.examples.ric.Greeter::handleRequest",
                 "memoryMb": 192, "timeoutSeconds": 20, "environment": {"JAVA_CMD": "%s"}}""".formatted(java)));
        TestDaemon.Response r = d.invoke("java-ric", "{\"name\": \"device\"}");
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        JsonNode out = r.json();
        assertThat(out.path("greeting").asText()).as(r.text() + r.logTail()).isEqualTo("hello device");
        assertThat(out.path("function").asText()).isEqualTo("java-ric");
        assertThat(out.path("arn").asText()).endsWith(":function:java-ric");
        assertThat(out.path("remainingMs").asLong()).isBetween(1L, 20_000L);
        String id = out.path("requestId").asText();
        assertThat(r.logTail()).contains("greeting device").contains("REPORT RequestId: " + id)
                .contains("Init Duration:");
        // its error call, in its own error shape
        TestDaemon.Response e = d.invoke("java-ric", "{\"fail\": \"now\"}");
        assertThat(e.header("X-Amz-Function-Error")).contains("Unhandled");
        assertThat(e.json().path("errorType").asText()).isEqualTo("java.lang.IllegalStateException");
        assertThat(e.json().path("errorMessage").asText()).isEqualTo("asked to fail: now");
        assertThat(d.invoke("java-ric", "{\"name\": \"again\"}").json().path("greeting").asText())
                .isEqualTo("hello again");
    }

    @Test
    void awsNodeRuntimeInterfaceClientFromNpmRunsAHandlerAsAProvidedRuntime() throws IOException {
        String installed = System.getProperty("bramble.test.node-ric", "");
        Assumptions.assumeTrue(!installed.isBlank() && Files.isDirectory(Path.of(installed)),
                "aws-lambda-ric from npm is not installed: scripts/test installs it (npm install aws-lambda-ric) and "
                        + "passes -Dbramble.test.node-ric; CI runs it");
        Map<String, String> files = new LinkedHashMap<>();
        files.put("function.json", """
                {"name": "node-ric", "runtime": "provided", "handler": "app.handler", "memoryMb": 96,
                 "timeoutSeconds": 10}""");
        files.put("bootstrap", """
                #!/bin/sh
                cd "$LAMBDA_TASK_ROOT"
                exec node node_modules/aws-lambda-ric/bin/index.mjs "$_HANDLER"
                """);
        files.put("app.mjs", """
                export const handler = async (event, context) => {
                  console.log('node-ric handling', event.name);
                  if (event.fail) { throw new RangeError('asked to fail: ' + event.fail); }
                  return { greeting: 'hello ' + event.name, requestId: context.awsRequestId,
                    function: context.functionName, remaining: context.getRemainingTimeInMillis() };
                };
                """);
        Path root = Path.of(installed, "node_modules", "aws-lambda-ric");
        for (String part : new String[]{"package.json", "bin", "dist"}) {
            try (Stream<Path> tree = Files.walk(root.resolve(part))) {
                tree.filter(Files::isRegularFile).forEach(f -> files.put("node_modules/aws-lambda-ric/"
                        + root.relativize(f), read(f)));
            }
        }
        d.deployOk(Bundles.zipBinary(dir, files));
        TestDaemon.Response r = d.invoke("node-ric", "{\"name\": \"pi\"}");
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        JsonNode out = r.json();
        assertThat(out.path("greeting").asText()).as(r.text() + r.logTail()).isEqualTo("hello pi");
        assertThat(out.path("function").asText()).isEqualTo("node-ric");
        assertThat(r.logTail()).contains("node-ric handling pi").contains("REPORT RequestId: "
                + out.path("requestId").asText());
        JsonNode e = d.invoke("node-ric", "{\"fail\": \"x\"}").json();
        assertThat(e.path("errorType").asText()).isEqualTo("RangeError");
        assertThat(e.path("errorMessage").asText()).isEqualTo("asked to fail: x");
    }

    private static String read(Path f) {
        try {
            return Bundles.BINARY_PREFIX + java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(f));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
