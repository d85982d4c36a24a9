package dev.bramble.sync;

import dev.bramble.protocol.TelemetryEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The interrupted-write test: a writer in its own JVM is killed with SIGKILL in the middle of writing. */
class OutboxKillTest {
    @TempDir
    Path dir;

    @Test
    void aKilledWriterLeavesNoCorruptionAndLosesNoCommittedEntry() throws Exception {
        Path file = dir.resolve("outbox.db");
        long committedBefore = 0;
        for (int round = 0; round < 3; round++) {
            long threshold = committedBefore + 5_000 + ThreadLocalRandom.current().nextInt(5_000);
            Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                    System.getProperty("bramble.test.classpath"), OutboxWriterMain.class.getName(), file.toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            long committed = 0;
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    committed = Long.parseLong(line.substring("committed ".length()));
                    if (committed >= threshold) {
                        // SIGKILL while the writer is in the middle of its next batches.
                        p.destroyForcibly();
                        break;
                    }
                }
            }
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(committed).as("the writer reached the kill point").isGreaterThanOrEqualTo(threshold);

            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
                 Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
                    rs.next();
                    assertThat(rs.getString(1)).isEqualTo("ok");
                }
                try (ResultSet rs = s.executeQuery("SELECT COUNT(*), MIN(seq), MAX(seq), "
                        + "SUM(CASE WHEN body = 'line ' || seq THEN 1 ELSE 0 END) FROM entries")) {
                    rs.next();
                    long count = rs.getLong(1);
                    // Every entry the writer saw committed is there, numbered 1..n without a hole, each intact.
                    assertThat(rs.getLong(2)).isEqualTo(1);
                    assertThat(rs.getLong(3)).isEqualTo(count);
                    assertThat(rs.getLong(4)).isEqualTo(count);
                    assertThat(count).isGreaterThanOrEqualTo(committed);
                    committedBefore = count;
                }
            }
        }
        // And the outbox opens and goes on from there.
        try (Outbox o = Outbox.open(file, 1L << 30)) {
            o.append(TelemetryEntry.log("f", 0, "s", "r", "after"));
            assertThat(o.flush(Duration.ofSeconds(10))).isTrue();
            List<TelemetryEntry> last = o.read(committedBefore, 10, Long.MAX_VALUE);
            assertThat(last).extracting(TelemetryEntry::seq).containsExactly(committedBefore + 1);
        }
    }
}
