package dev.bramble.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.stream.Stream;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Each version gets a class-data archive soon after deployment; a corrupt one is rebuilt without a failed call. */
class ClassDataArchiveTest {
    @TempDir
    Path dir;
    final TestClock clock = TestClock.frozenAt(Instant.parse("2026-11-22T10:00:00Z"));

    /** A daemon with echo deployed, once the class-data archive trained after the deployment exists. */
    private TestDaemon echoWithTrainedArchive() {
        TestDaemon d = TestDaemon.start(dir.resolve("data"), "pool:\n  idle-ttl-seconds: 60\n", clock);
        d.deployOk(Bundles.example("echo"));
        Path archives = d.dataDir().resolve("archives/echo");
        await("the archive trained after deploy").atMost(30, SECONDS).until(() -> archive(archives) != null
                && Files.size(archive(archives)) > 1 << 20);
        return d;
    }

    @Test
    void archiveIsTrainedAfterDeployAndACorruptOneIsRebuiltWithoutAFailedCall() throws IOException {
        try (TestDaemon d = echoWithTrainedArchive()) {
            Path archive = archive(d.dataDir().resolve("archives/echo"));
            // The training run's JVM says nothing of its dump in the function's log.
            assertThat(d.get("/v1/functions/echo/logs?limit=200").json().path("events").findValuesAsText("message"))
                    .noneMatch(m -> m.contains("jcmd") || m.contains("archive"));

            byte[] garbage = new byte[4096];
            Arrays.fill(garbage, (byte) 0x5a);
            Files.write(archive, garbage);
            TestDaemon.Response r = d.invoke("echo", "{\"after\":\"corruption\"}");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("X-Amz-Function-Error")).isEmpty();
            assertThat(r.logTail()).contains("Init Duration");

            clock.advance(Duration.ofMinutes(2));
            assertThat(d.daemon().environments().reap()).isEqualTo(1);
            // The damaged file is set aside at the next cold start, which runs without it, and a training run sends a
            // new one, which the daemon stores.
            await("the archive rebuilt by a training run").atMost(30, SECONDS).until(() -> Files.exists(archive)
                    && Files.size(archive) > 1 << 20 && !Arrays.equals(Files.readAllBytes(archive), garbage));
            assertThat(d.invoke("echo", "{}").header("X-Amz-Function-Error")).isEmpty();
        }
    }

    @Test
    void anArchiveThatNoLongerMatchesItsJarsNeverFailsACall() throws IOException {
        try (TestDaemon d = echoWithTrainedArchive()) {
            Path archives = d.dataDir().resolve("archives/echo");
            // The archive no longer matches the jars it was made with (as after an upgrade in place): a JVM handed
            // it may stop before main() with "Unable to use shared archive".
            Path staged = d.dataDir().resolve("runtime");
            if (Files.isDirectory(staged)) {
                try (Stream<Path> jars = Files.list(staged)) {
                    for (Path jar : jars.toList()) {
                        Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.from(Instant.now().plusSeconds(60)));
                    }
                }
            } else {
                mismatchedArchive(archive(archives));
            }

            TestDaemon.Response r = d.invoke("echo", "{\"after\":\"mismatch\"}");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("X-Amz-Function-Error")).as(r.text()).isEmpty();
            assertThat(r.json().get("after").asText()).isEqualTo("mismatch");
        }
    }

    /** Replaces an archive with one the JVM made for another classpath. */
    private void mismatchedArchive(Path archive) throws IOException {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path jar = Files.createTempFile(dir, "unrelated-", ".jar");
        try (var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new java.util.zip.ZipEntry("x.txt"));
            out.write(1);
        }
        Path other = dir.resolve("other.jsa");
        Process p = new ProcessBuilder(javaBin, "-XX:ArchiveClassesAtExit=" + other, "-cp", jar.toString(), "-version")
                .redirectErrorStream(true).start();
        p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
        try {
            assertThat(p.waitFor(60, SECONDS)).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        Files.copy(other, archive, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static Path archive(Path archives) throws IOException {
        if (!Files.isDirectory(archives)) {
            return null;
        }
        try (Stream<Path> files = Files.walk(archives)) {
            return files.filter(p -> p.getFileName().toString().equals("app.jsa")).findFirst().orElse(null);
        }
    }
}
