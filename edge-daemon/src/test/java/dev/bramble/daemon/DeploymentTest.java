package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Local deployment: a bad bundle is refused with every problem listed, and nothing of it is stored. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeploymentTest {
    @TempDir
    static Path dir;
    TestDaemon d;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "");
        d.deployOk(Bundles.example("echo"));
    }

    @AfterAll
    void stop() {
        d.close();
    }

    @Test
    void zipSlipEntryIsRefusedAndNothingStored() throws IOException {
        List<String> before = stored();
        Path evil = Bundles.rewrite(Bundles.example("echo"), dir, Bundles.shapes("slip", "PojoHandler")
                .replace("shapes.PojoHandler", "echo.Echo"), Map.of("../../escaped.txt",
                "pwned".getBytes(StandardCharsets.UTF_8)));
        TestDaemon.Response r = d.deploy(evil, "");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.header("X-Amzn-ErrorType")).contains("InvalidBundleException");
        assertThat(r.json().get("problems").toString()).contains("../../escaped.txt").contains("escapes the bundle");
        assertThat(stored()).isEqualTo(before);
        assertThat(d.get("/v1/functions/slip").status()).isEqualTo(404);
        assertThat(Files.exists(d.dataDir().resolve("escaped.txt"))).isFalse();
        assertThat(Files.exists(d.dataDir().getParent().resolve("escaped.txt"))).isFalse();
    }

    @Test
    void lambdasZipLayoutClassesAtTheTopDeploysAndRuns() throws IOException {
        // The zip Lambda's build instructions give: the handler's classes at the top, dependencies in lib/; plus
        // function.json. Made from the echo example's jar.
        Path layout = dir.resolve("lambda-layout.zip");
        try (java.util.zip.ZipFile echo = new java.util.zip.ZipFile(Bundles.example("echo").toFile());
             java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(Files.newOutputStream(layout))) {
            out.putNextEntry(new java.util.zip.ZipEntry("function.json"));
            out.write("""
                    {"name": "toplevel", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo"}"""
                    .getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
            for (java.util.zip.ZipEntry e : java.util.Collections.list(echo.entries())) {
                if (!e.getName().startsWith("lib/") || !e.getName().contains("echo")) {
                    continue;
                }
                try (java.util.zip.ZipInputStream jar = new java.util.zip.ZipInputStream(echo.getInputStream(e))) {
                    for (java.util.zip.ZipEntry c = jar.getNextEntry(); c != null; c = jar.getNextEntry()) {
                        if (!c.isDirectory() && !c.getName().startsWith("META-INF/")) {
                            out.putNextEntry(new java.util.zip.ZipEntry(c.getName()));
                            jar.transferTo(out);
                            out.closeEntry();
                        }
                    }
                }
            }
        }
        JsonNode deployed = d.deployOk(layout);
        assertThat(deployed.get("function").asText()).isEqualTo("toplevel");
        TestDaemon.Response r = d.invoke("toplevel", "{\"k\": \"v\"}");
        assertThat(r.header("X-Amz-Function-Error")).as(r.text()).isEmpty();
        assertThat(r.text()).contains("\"k\"");
    }

    @Test
    void missingHandlerClassIsRefused() throws IOException {
        List<String> before = stored();
        Path zip = Bundles.withManifest(Bundles.example("echo"), dir, """
                {"name":"nohandler","runtime":"java21","handler":"com.example.Missing::handle"}""");
        TestDaemon.Response r = d.deploy(zip, "");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().get("problems").toString()).contains("handler class 'com.example.Missing' not found");
        assertThat(stored()).isEqualTo(before);
    }

    @Test
    void badManifestListsEveryProblemAtOnce() throws IOException {
        List<String> before = stored();
        Path zip = Bundles.withManifest(Bundles.example("echo"), dir, """
                {"name":"bad name!","runtime":"python3.12","handler":"dev.bramble.examples.echo.Echo",
                 "memoryMb":16,"timeoutSeconds":"soon","colour":"blue","environment":{"AWS_LAMBDA_X":"1"}}""");
        TestDaemon.Response r = d.deploy(zip, "");
        assertThat(r.status()).isEqualTo(400);
        JsonNode problems = r.json().get("problems");
        assertThat(problems.toString())
                .contains("name: 'bad name!' is not allowed")
                .contains("runtime: 'python3.12' is not supported; allowed: [java21, provided, python3, nodejs] (a device "
                        + "runs its own interpreter, whatever version it has: write ")
                .contains("memoryMb: 16 is outside the allowed range 32..10240")
                .contains("timeoutSeconds: expected a whole number from 1 to 900, got \\\"soon\\\"")
                .contains("colour: unknown field")
                .contains("environment.AWS_LAMBDA_X: reserved");
        assertThat(problems.size()).isEqualTo(6);
        assertThat(stored()).isEqualTo(before);
    }

    @Test
    void notAZipIsRefused() {
        TestDaemon.Response r = d.send("POST", "/v1/deployments", "hello".getBytes(StandardCharsets.UTF_8));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().get("message").asText()).contains("not a zip file");
    }

    @Test
    void badAliasIsRefused() {
        TestDaemon.Response r = d.deploy(Bundles.example("echo"), "?alias=123");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().get("message").asText()).contains("alias '123' is not allowed");
    }

    @Test
    void deployedCodeIsReadOnlyAndTheBundleIsStoredByDigest() throws IOException {
        JsonNode dep = d.deployOk(Bundles.withManifest(Bundles.example("echo"), dir, """
                {"name":"stored","runtime":"java21","handler":"dev.bramble.examples.echo.Echo"}"""));
        assertThat(Files.exists(d.dataDir().resolve("bundles/" + dep.get("sha256").asText() + ".zip"))).isTrue();
        Path code = d.dataDir().resolve("functions/stored/1");
        assertThat(Files.exists(code.resolve("function.json"))).isTrue();
        assertThat(Files.getPosixFilePermissions(code.resolve("function.json")).toString()).doesNotContain("WRITE");
        assertThat(Files.getPosixFilePermissions(code).toString()).doesNotContain("WRITE");
        assertThat(d.invoke("stored", "{}").status()).isEqualTo(200);
    }

    private List<String> stored() throws IOException {
        try (Stream<Path> files = Files.walk(d.dataDir())) {
            return files.map(p -> d.dataDir().relativize(p).toString())
                    .filter(p -> p.startsWith("bundles") || p.startsWith("functions") || p.startsWith("incoming"))
                    .sorted().toList();
        }
    }
}
