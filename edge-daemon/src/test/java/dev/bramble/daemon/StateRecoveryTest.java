package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a crash, a failing SD card or a careless operator leaves in the data directory, and what the next start
 * makes of it: state.db missing, empty or corrupt beside stored bundles is rebuilt from them (never an empty device
 * in silence); a bundle cut short is not trusted; leftovers and orphans are removed.
 */
class StateRecoveryTest {
    @TempDir
    Path dir;

    /** A data directory with echo at versions 1 and 2 (live) and misbehave at 1, the daemon stopped. */
    private Path deployed() {
        Path data = dir.resolve("data");
        try (TestDaemon d = TestDaemon.start(data, "")) {
            d.deployOk(Bundles.example("echo"));
            d.deployOk(Bundles.withManifest(Bundles.example("echo"), dir, """
                    {"name": "echo", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo",
                     "environment": {"SECOND": "yes"}}"""));
            d.deployOk(Bundles.example("misbehave"));
            assertThat(d.invoke("echo", "{\"v\":2}").status()).isEqualTo(200);
        }
        return data;
    }

    private static void assertRebuilt(TestDaemon d, String why) {
        JsonNode status = d.get("/v1/status").json();
        assertThat(status.path("stateRecovery").asText()).contains(why).contains("rebuilt from the stored bundles")
                .contains("echo (2 versions, live=2)").contains("misbehave (1 versions, live=1)");
        JsonNode echo = d.get("/v1/functions/echo").json();
        assertThat(echo.path("aliases").path("live").asInt()).as(echo.toString()).isEqualTo(2);
        TestDaemon.Response r = d.invoke("echo", "{\"after\":\"rebuild\"}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().path("after").asText()).isEqualTo("rebuild");
        assertThat(d.send("POST", "/2015-03-31/functions/echo/invocations?Qualifier=1", "{}".getBytes(
                java.nio.charset.StandardCharsets.UTF_8)).header("X-Amz-Executed-Version")).contains("1");
        assertThat(d.invoke("misbehave", "{}").status()).isEqualTo(200);
    }

    @Test
    void anEmptyStateDbBesideStoredBundlesIsRebuiltFromThem() throws IOException {
        Path data = deployed();
        Files.write(data.resolve("state.db"), new byte[0]);
        try (TestDaemon d = TestDaemon.start(data, "")) {
            assertRebuilt(d, "state.db was empty");
        }
    }

    @Test
    void aMissingStateDbBesideStoredBundlesIsRebuiltFromThem() throws IOException {
        Path data = deployed();
        for (String f : new String[]{"state.db", "state.db-wal", "state.db-shm"}) {
            Files.deleteIfExists(data.resolve(f));
        }
        try (TestDaemon d = TestDaemon.start(data, "")) {
            assertRebuilt(d, "state.db was missing");
        }
    }

    @Test
    void aCorruptStateDbIsMovedAsideAndRebuilt() throws IOException {
        Path data = deployed();
        try (RandomAccessFile f = new RandomAccessFile(data.resolve("state.db").toFile(), "rw")) {
            byte[] garbage = new byte[8192];
            Arrays.fill(garbage, (byte) 0x5a);
            f.write(garbage); // the header and the first pages
        }
        try (TestDaemon d = TestDaemon.start(data, "")) {
            assertRebuilt(d, "state.db failed its integrity check");
            try (Stream<Path> files = Files.list(data)) {
                assertThat(files.map(p -> p.getFileName().toString())).as("kept for a post-mortem")
                        .anyMatch(n -> n.startsWith("state.db.corrupt-"));
            }
        }
    }

    @Test
    void aBundleCutShortIsNotTrustedAndDeployingItAgainRestoresTheVersion() throws IOException {
        Path data = dir.resolve("data");
        Path echo = Bundles.example("echo");
        String sha;
        try (TestDaemon d = TestDaemon.start(data, "")) {
            sha = d.deployOk(echo).path("sha256").asText();
        }
        // What a kill during a non-atomic copy left: the digest's name on a part of the zip, and no code.
        Path zip = data.resolve("bundles/" + sha + ".zip");
        byte[] whole = Files.readAllBytes(zip);
        Files.write(zip, Arrays.copyOf(whole, whole.length / 2));
        dev.bramble.daemon.store.Trees.delete(data.resolve("functions/echo/1"));
        try (TestDaemon d = TestDaemon.start(data, "")) {
            assertThat(d.invoke("echo", "{}").header("X-Amz-Function-Error")).isPresent();
            JsonNode again = d.deployOk(echo);
            assertThat(again.path("version").asInt()).isEqualTo(1);
            assertThat(Files.readAllBytes(zip)).isEqualTo(whole);
            TestDaemon.Response r = d.invoke("echo", "{\"restored\":true}");
            assertThat(r.header("X-Amz-Function-Error")).as(r.text()).isEmpty();
            assertThat(r.json().path("restored").asBoolean()).isTrue();
        }
    }

    @Test
    void leftoversOfKilledDeploysAndOrphansAreRemovedAtStart() throws IOException {
        Path data = deployed();
        Path tempCopy = Files.write(data.resolve("bundles/.0123.zip.5b7f.tmp"), new byte[100]);
        Path orphanZip = Files.write(data.resolve("bundles/" + "ab".repeat(32) + ".zip"), new byte[100]);
        Path staging = Files.createDirectories(data.resolve("functions/.staging-dead/lib"));
        Path ghost = Files.createDirectories(data.resolve("functions/ghost/1/lib"));
        Path unrecorded = Files.createDirectories(data.resolve("functions/echo/3/lib"));
        Files.writeString(data.resolve("functions/echo/3.sha256"), "cd".repeat(32));
        try (TestDaemon d = TestDaemon.start(data, "")) {
            assertThat(tempCopy).doesNotExist();
            assertThat(orphanZip).doesNotExist();
            assertThat(staging.getParent()).doesNotExist();
            assertThat(ghost.getParent().getParent()).doesNotExist();
            assertThat(unrecorded.getParent()).doesNotExist();
            assertThat(data.resolve("functions/echo/3.sha256")).doesNotExist();
            assertThat(data.resolve("functions/echo/2")).isDirectory();
            assertThat(d.get("/v1/status").json().path("stateRecovery").isNull()).isTrue();
            assertThat(d.invoke("echo", "{}").status()).isEqualTo(200);
        }
    }
}
