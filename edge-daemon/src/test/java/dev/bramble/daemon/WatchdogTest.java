package dev.bramble.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The watchdog tells systemd only while the daemon's own check passes: a wedged daemon goes quiet and is restarted. */
class WatchdogTest {
    @TempDir
    Path dir;

    @Test
    void pingsStopWhileTheCheckFailsAndResumeWhenItPasses() throws Exception {
        Path pings = dir.resolve("pings");
        AtomicBoolean healthy = new AtomicBoolean(true);
        try (Watchdog w = Watchdog.start(Duration.ofMillis(50), healthy::get,
                List.of("sh", "-c", "echo ping >> " + pings))) {
            await().atMost(10, SECONDS).until(() -> count(pings) >= 3);
            healthy.set(false);
            Thread.sleep(200); // a ping already under way may still land
            long quiet = count(pings);
            Thread.sleep(500);
            assertThat(count(pings)).as("no ping while the check fails").isEqualTo(quiet);
            healthy.set(true);
            await().atMost(10, SECONDS).until(() -> count(pings) > quiet);
        }
    }

    @Test
    void theCheckIsTheDaemonsOwnHealthRouteOverHttp() {
        assertThat(Watchdog.answers(java.net.URI.create("http://127.0.0.1:1/v1/health"), Duration.ofSeconds(1)))
                .as("nothing listening").isFalse();
        assertThat(Watchdog.startIfAsked(java.util.Map.of(), "127.0.0.1", 9000, List.of("true")))
                .as("not under systemd's watchdog").isNull();
        assertThat(Watchdog.startIfAsked(java.util.Map.of("WATCHDOG_USEC", "1000000", "NOTIFY_SOCKET", "/x",
                "WATCHDOG_PID", "1"), "127.0.0.1", 9000, List.of("true"))).as("asked of another process").isNull();
    }

    private static long count(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllLines(file).size() : 0;
    }
}
