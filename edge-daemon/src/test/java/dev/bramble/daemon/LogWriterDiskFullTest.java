package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A full data disk (a small tmpfs as the data directory): log lines that cannot be written are counted and named in
 * status, the daemon keeps serving, and the writer stores lines again by itself once the disk has room. Needs root
 * to mount the tmpfs; CI runs it as root.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LogWriterDiskFullTest {
    @TempDir
    static Path dir;
    Path data;
    TestDaemon d;

    @BeforeAll
    void start() throws Exception {
        assumeTrue(Daemons.isRoot(), "mounting a tmpfs needs root; scripts/test runs as root in CI");
        data = dir.resolve("data");
        Files.createDirectories(data);
        run("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", data.toString());
        d = TestDaemon.start(data, "runtime:\n  class-data-archives: false\n");
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("chatty", "")));
        assertThat(d.invoke("chatty", "{}").status()).isEqualTo(200); // warm: no cold start needs the disk below
    }

    @AfterAll
    void stop() throws Exception {
        if (d != null) {
            d.close();
        }
        if (data != null) {
            run("umount", data.toString());
        }
    }

    @Test
    void linesThatCannotBeWrittenAreCountedAndTheWriterRecoversWhenTheDiskDoes() throws Exception {
        Path filler = data.resolve("filler");
        fill(filler);
        TestDaemon.Response r = d.invoke("chatty", "{\"logLines\": 200, \"logPrefix\": \"full\"}");
        assertThat(r.status()).isEqualTo(200);
        await("the failed writes counted").atMost(20, SECONDS).until(() -> d.get("/v1/status").json()
                .path("logLinesDropped").asLong() > 0);
        JsonNode status = d.get("/v1/status").json();
        assertThat(status.path("logWriteError").asText()).containsIgnoringCase("full");
        assertThat(d.get("/metrics").text()).containsPattern("bramble_log_lines_dropped_total [1-9]");
        assertThat(d.get("/v1/health").status()).isEqualTo(200);

        Files.delete(filler);
        assertThat(d.invoke("chatty", "{\"logLines\": 5, \"logPrefix\": \"room again\"}").status()).isEqualTo(200);
        await("lines stored again once the disk has room").atMost(20, SECONDS).until(() -> d.get(
                "/v1/functions/chatty/logs?limit=10000").text().contains("room again line 4"));
        assertThat(d.get("/v1/status").json().path("logWriteError").isNull()).isTrue();
    }

    @Test
    void aDeployAndAnEventOnAFullDiskAre507sThatSaySoAndWhatWasStoredIsKept() throws Exception {
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("slow",
                "\"timeoutSeconds\": 30, \"concurrency\": {\"reserved\": 1, \"provisioned\": 1}")));
        long succeededBefore = d.get("/v1/status").json().at("/async/succeeded").asLong();
        Path filler = data.resolve("filler");
        fill(filler);
        try {
            JsonNode status = d.get("/v1/status").json();
            assertThat(status.at("/dataDisk/freeMb").asLong()).isLessThan(1);
            assertThat(status.at("/dataDisk/path").asText()).isEqualTo(data.toString());

            TestDaemon.Response deploy = d.deploy(Bundles.withManifest(Bundles.example("echo"), dir, """
                    {"name": "echo2", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo"}"""), "");
            assertThat(deploy.status()).as(deploy.text()).isEqualTo(507);
            assertThat(deploy.header("X-Amzn-ErrorType")).contains("InsufficientStorageException");
            assertThat(deploy.json().path("message").asText()).contains("no space left on device");
            assertThat(d.get("/v1/functions/echo2").status()).isEqualTo(404);

            // Events stay in the queue while the slow function runs them: they fill what SQLite can still use,
            // then one is refused; every one accepted before it is kept and runs.
            String payload = "{\"sleepMs\": 300, \"pad\": \"" + "x".repeat(900 << 10) + "\"}";
            int accepted = 0;
            TestDaemon.Response refused = null;
            for (int i = 0; i < 60 && refused == null; i++) {
                TestDaemon.Response r = d.send("POST", "/2015-03-31/functions/slow/invocations", payload.getBytes(
                        java.nio.charset.StandardCharsets.UTF_8), "X-Amz-Invocation-Type", "Event");
                if (r.status() == 202) {
                    accepted++;
                } else {
                    refused = r;
                }
            }
            assertThat(refused).as("an Event refused once the disk is full").isNotNull();
            assertThat(refused.status()).as(refused.text()).isEqualTo(507);
            assertThat(refused.json().path("message").asText()).contains("no space left on device");
            assertThat(d.get("/v1/health").status()).isEqualTo(200);
            int kept = accepted;
            Files.delete(filler);
            filler = null;
            assertThat(kept).isLessThan(60);
            await("every accepted event run").atMost(120, SECONDS).until(() -> d.get("/v1/status").json()
                    .at("/async/depth").asInt() == 0);
            assertThat(d.get("/v1/status").json().at("/async/succeeded").asLong() - succeededBefore)
                    .as("every accepted event ran").isEqualTo(kept);
        } finally {
            if (filler != null) {
                Files.deleteIfExists(filler);
            }
        }
    }

    /** Writes until the tmpfs is full. */
    private static void fill(Path filler) throws IOException {
        byte[] mb = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) {
                out.write(mb);
            }
        } catch (IOException full) {
            assertThat(full.getMessage()).contains("No space left on device");
        }
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + ": " + out).isZero();
    }
}
