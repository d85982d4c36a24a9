package dev.bramble.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
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
@ExtendWith(NoLeakedChildren.class)
class ClassDataArchiveTest {
    @TempDir
    Path dir;

    @Test
    void archiveIsTrainedAfterDeployAndACorruptOneIsRebuiltWithoutAFailedCall() throws IOException {
        ConcurrencyTest.MutableClock clock = new ConcurrencyTest.MutableClock(Instant.parse("2026-11-22T10:00:00Z"));
        try (TestDaemon d = TestDaemon.start(dir.resolve("data"), "pool:\n  idle-ttl-seconds: 60\n", clock)) {
            d.deployOk(Bundles.example("echo"));
            Path archives = d.dataDir().resolve("archives/echo");
            await("the archive trained after deploy").atMost(30, SECONDS).until(() -> archive(archives) != null
                    && Files.size(archive(archives)) > 1 << 20);
            Path archive = archive(archives);

            byte[] garbage = new byte[4096];
            Arrays.fill(garbage, (byte) 0x5a);
            Files.write(archive, garbage);
            TestDaemon.Response r = d.invoke("echo", "{\"after\":\"corruption\"}");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("X-Amz-Function-Error")).isEmpty();
            assertThat(r.logTail()).contains("Init Duration");

            clock.advance(Duration.ofMinutes(2));
            assertThat(d.daemon().environments().reap()).isEqualTo(1);
            await("the archive rebuilt by the exiting JVM").atMost(30, SECONDS).until(() -> Files.size(archive) > 1 << 20
                    && !Arrays.equals(Files.readAllBytes(archive), garbage));
            assertThat(d.invoke("echo", "{}").header("X-Amz-Function-Error")).isEmpty();
        }
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
