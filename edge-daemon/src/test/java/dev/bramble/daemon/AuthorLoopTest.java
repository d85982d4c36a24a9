package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bramble.cli.Bramble;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A function author's loop, as the docs give it: {@code bramble init}, {@code mvn package} on what it wrote (real
 * Maven, offline, with what this build already fetched), then {@code bramble local invoke} and
 * {@code bramble local serve} on the bundle — the real child runtime, no device, no keys.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthorLoopTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    Path project;
    Path bundle;

    record Run(int code, String out, String err) {
    }

    private static Run bramble(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Bramble.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    private static String runtimeClasspath() {
        String cp = System.getProperty("bramble.test.runtime.classpath");
        assertThat(cp).as("bramble.test.runtime.classpath (run the tests through Maven)").isNotBlank();
        return cp;
    }

    @BeforeAll
    void initAndPackage() throws Exception {
        project = dir.resolve("thermo");
        Run init = bramble("init", "thermo", "--dir", project.toString());
        assertThat(init.code()).as(init.err()).isZero();
        assertThat(init.out()).contains("mvn package", "bramble local invoke target/thermo-bundle.zip");
        for (String f : List.of("pom.xml", "function.json", "events/reading.json", "src/assembly/bundle.xml",
                "src/main/java/com/example/thermo/Handler.java", "src/test/java/com/example/thermo/HandlerTest.java")) {
            assertThat(project.resolve(f)).as(f).isRegularFile();
        }
        mvnPackage(project);
        bundle = project.resolve("target/thermo-bundle.zip");
        assertThat(bundle).isRegularFile();
    }

    /** {@code mvn -o package} in {@code dir}, with this JVM's JDK; fails with Maven's output when it does. */
    private static void mvnPackage(Path dir) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("mvn", "-o", "-B", "-q", "package"));
        String repo = System.getProperty("maven.repo.local");
        if (repo != null) {
            cmd.add("-Dmaven.repo.local=" + repo);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("mvn.log").toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("mvn package did not finish in 5 minutes");
        }
        assertThat(p.exitValue()).as("mvn package of the bramble init project:%n%s",
                Files.readString(dir.resolve("mvn.log"))).isZero();
    }

    @Test
    void theInitProjectsTestRanAndItsBundleHoldsTheManifestAndTheJar() throws IOException {
        assertThat(project.resolve("target/surefire-reports/TEST-com.example.thermo.HandlerTest.xml"))
                .isRegularFile().content().contains("tests=\"1\"", "failures=\"0\"");
        try (var zip = new java.util.zip.ZipFile(bundle.toFile())) {
            assertThat(zip.stream().map(java.util.zip.ZipEntry::getName).toList())
                    .contains("function.json", "lib/thermo-1.0.0.jar")
                    .anyMatch(n -> n.startsWith("lib/aws-lambda-java-core-"));
        }
    }

    @Test
    void localInvokeRunsTheHandlerOnceInTheRealRuntime() throws IOException {
        Run r = bramble("local", "invoke", bundle.toString(), "--event",
                project.resolve("events/reading.json").toString(), "--runtime-classpath", runtimeClasspath());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode result = JSON.readTree(r.out());
        assertThat(result.get("device").asText()).isEqualTo("pi-7");
        assertThat(result.get("fahrenheit").asDouble()).isEqualTo(88.7);
        assertThat(result.get("alert").asBoolean()).isTrue();
        String requestId = result.get("requestId").asText();
        // The function's log framed as on Lambda, in order, with the cold start's Init Duration.
        List<String> lines = r.err().lines().toList();
        assertThat(lines).containsSubsequence("START RequestId: " + requestId + " Version: 1",
                "reading from pi-7: 31.5 °C", "END RequestId: " + requestId);
        assertThat(lines).anyMatch(l -> l.startsWith("REPORT RequestId: " + requestId)
                && l.contains("Billed Duration:") && l.contains("Memory Size: 128 MB") && l.contains("Init Duration:"));
    }

    @Test
    void aFailingInvocationPrintsLambdasErrorAndExitsOne() throws IOException {
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"device\": \"pi-7\", \"celsius\": \"hot\"}");
        Run r = bramble("local", "invoke", bundle.toString(), "-e", bad.toString(), "--runtime-classpath",
                runtimeClasspath());
        assertThat(r.code()).isEqualTo(1);
        assertThat(JSON.readTree(r.out()).get("errorMessage").asText())
                .isEqualTo("An error occurred during JSON parsing");
        assertThat(r.err()).contains("REPORT RequestId:");
    }

    @Test
    void whatCannotRunIsRefusedWithTheReason() throws IOException {
        Run missing = bramble("local", "invoke", dir.resolve("nope.zip").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("BUNDLE " + dir.resolve("nope.zip") + " is not a file");

        Path noManifest = dir.resolve("no-manifest.zip");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(noManifest))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("lib/x.jar"));
            zip.write(new byte[]{1});
        }
        Run refused = bramble("local", "invoke", noManifest.toString(), "--runtime-classpath", runtimeClasspath());
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).contains("was refused").contains("function.json");

        try (java.net.ServerSocket busy = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getLoopbackAddress())) {
            Run portTaken = bramble("local", "serve", bundle.toString(), "--port",
                    Integer.toString(busy.getLocalPort()), "--runtime-classpath", runtimeClasspath());
            assertThat(portTaken.code()).isEqualTo(1);
            assertThat(portTaken.err()).contains("cannot listen on 127.0.0.1:" + busy.getLocalPort(),
                    "choose another port with --port").doesNotContain("\tat ");
        }

        Run taken = bramble("init", "thermo", "--dir", project.toString());
        assertThat(taken.code()).isEqualTo(2);
        assertThat(taken.err()).contains("exists and is not an empty directory");
        assertThat(bramble("init", "no/slash").err()).contains("NAME 'no/slash' is not allowed");
        assertThat(bramble("init", "kw", "--dir", dir.resolve("kw").toString(), "--package", "com.example.class")
                .err()).contains("package 'com.example.class' (group 'com.example') is not allowed");
        // A name that is a Java keyword still makes a package that compiles.
        Run keyword = bramble("--json", "init", "class", "--dir", dir.resolve("class").toString());
        assertThat(keyword.code()).as(keyword.err()).isZero();
        assertThat(JSON.readTree(keyword.out()).get("handler").asText()).isEqualTo("com.example.class_fn.Handler");
    }

    @Test
    void localServeAnswersTheInvokeApiUntilInterrupted() throws Exception {
        StringWriter err = new StringWriter();
        StringWriter out = new StringWriter();
        int[] code = {-1};
        Thread serve = new Thread(() -> code[0] = Bramble.run(new String[]{"local", "serve", bundle.toString(),
                "--port", "0", "--runtime-classpath", runtimeClasspath()}, new PrintWriter(out, true),
                new PrintWriter(err, true)), "local-serve");
        serve.start();
        Pattern serving = Pattern.compile("Serving thermo on (http://127\\.0\\.0\\.1:\\d+)");
        await().atMost(60, TimeUnit.SECONDS).until(() -> serving.matcher(err.toString()).find());
        Matcher m = serving.matcher(err.toString());
        assertThat(m.find()).isTrue();
        String base = m.group(1);
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base
                        + "/2015-03-31/functions/thermo/invocations"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"device\":\"pi-9\",\"celsius\":12}")).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("X-Amz-Executed-Version")).hasValue("1");
        assertThat(JSON.readTree(r.body()).get("alert").asBoolean()).isFalse();
        await().atMost(10, TimeUnit.SECONDS).until(() -> err.toString().contains("reading from pi-9: 12.0 °C")
                && err.toString().contains("REPORT RequestId:"));
        serve.interrupt();
        serve.join(30_000);
        assertThat(serve.isAlive()).isFalse();
        assertThat(code[0]).isZero();
        // Stopped means stopped: the port no longer answers.
        await().atMost(10, TimeUnit.SECONDS).until(() -> {
            try {
                http.send(HttpRequest.newBuilder(URI.create(base + "/v1/health")).build(),
                        HttpResponse.BodyHandlers.discarding());
                return false;
            } catch (IOException refused) {
                return true;
            }
        });
    }
}
