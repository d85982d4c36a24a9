package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The AWS CLI (Debian's {@code awscli}, which scripts/test installs) running exactly the {@code aws lambda} commands
 * docs/operators.md gives, against a real daemon: only the URL and the token are put in.
 */
class AwsCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DOC = Path.of(System.getProperty("user.dir")).resolve("../docs/operators.md");

    @TempDir
    Path tmp;

    /** The shell block after "The AWS CLI and SDKs call the device" in docs/operators.md. */
    private static String documentedCommands() throws Exception {
        String doc = Files.readString(DOC);
        Matcher m = Pattern.compile("The AWS CLI and SDKs call the device[\\s\\S]*?```sh\\n([\\s\\S]*?)```")
                .matcher(doc);
        assertThat(m.find()).as("the AWS CLI block in " + DOC).isTrue();
        return m.group(1);
    }

    @Test
    void theDocumentedAwsLambdaCommandsWork() throws Exception {
        assertThat(Path.of("/usr/bin/aws")).as("the AWS CLI: scripts/test installs Debian's awscli").exists();
        try (TestDaemon d = TestDaemon.start(tmp.resolve("data"), "")) {
            String manifest = """
                    {"name": "echo", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo",
                     "description": "%s"}""";
            d.deployOk(Bundles.withManifest(Bundles.example("echo"), tmp, manifest.formatted("one")));
            d.deployOk(Bundles.withManifest(Bundles.example("echo"), tmp, manifest.formatted("two")));
            assertThat(d.deploy(Bundles.withManifest(Bundles.example("echo"), tmp, manifest.formatted("three")),
                    "?alias=beta").status()).isEqualTo(201);

            String token = d.token();
            String script = documentedCommands()
                    .replace("\"$(sudo cat /var/lib/bramble/admin.token)\"", "'" + token + "'")
                    .replace("http://127.0.0.1:9000", d.base());
            assertThat(script).doesNotContain("sudo", "9000");
            Path file = tmp.resolve("commands.sh");
            Files.writeString(file, "set -euo pipefail\n" + script);
            ProcessBuilder pb = new ProcessBuilder("bash", file.toString()).directory(tmp.toFile())
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("aws.log").toFile());
            pb.environment().put("HOME", tmp.toString());
            pb.environment().put("AWS_PAGER", "");
            pb.environment().put("PATH", "/usr/bin:/bin"); // Debian's aws, not one a developer's PATH puts first
            pb.environment().remove("AWS_PROFILE");
            Process p = pb.start();
            assertThat(p.waitFor(3, TimeUnit.MINUTES)).as("the AWS CLI finished").isTrue();
            String out = Files.readString(tmp.resolve("aws.log"));
            assertThat(p.exitValue()).as("the documented commands:%n%s%n--- their output ---%n%s", script, out)
                    .isZero();

            // list-functions, then get-function-configuration: JSON documents, one after another.
            List<JsonNode> docs = JSON.readerFor(JsonNode.class).<JsonNode>readValues(out).readAll();
            assertThat(docs.get(0).path("Functions").get(0).path("FunctionName").asText()).isEqualTo("echo");
            assertThat(docs.get(1).path("Version").asText()).isEqualTo("2");
            assertThat(docs.get(1).path("Description").asText()).isEqualTo("two");
            assertThat(docs.get(2).path("Aliases")).extracting(a -> a.path("Name").asText())
                    .containsExactly("beta", "live");
            assertThat(docs.get(3).path("RoutingConfig").path("AdditionalVersionWeights").path("3").asDouble())
                    .isEqualTo(0.1);
            assertThat(docs.get(4).path("FunctionVersion").asText()).isEqualTo("3");
            assertThat(docs.get(4).has("RoutingConfig")).isFalse();
            assertThat(docs.get(5).path("StatusCode").asInt()).isEqualTo(200);
            assertThat(docs.get(5).path("ExecutedVersion").asText()).isEqualTo("3");
            assertThat(JSON.readTree(tmp.resolve("out.json").toFile()).path("a").asInt()).isEqualTo(1);
        }
    }
}
