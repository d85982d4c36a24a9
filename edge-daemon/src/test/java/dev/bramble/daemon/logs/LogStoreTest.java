package dev.bramble.daemon.logs;

import dev.bramble.daemon.store.Database;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The log store on a real SQLite file: its writer gathers lines, and a reader still sees what came before it. */
class LogStoreTest {
    @TempDir
    Path dir;

    @Test
    void aQuerySeesTheLinesAppendedBeforeItThoughTheWriterIsStillGathering() {
        try (LogStore logs = LogStore.start(Database.open(dir), 1_000, 4_096)) {
            for (int round = 0; round < 20; round++) {
                logs.append("f", "s", "r" + round, 1_000 + round, "line " + round);
                // at once, inside the writer's gathering window
                List<LogEvent> got = logs.query("f", 0, 0, null, 100);
                assertThat(got).hasSize(round + 1);
                assertThat(got.getLast().message()).isEqualTo("line " + round);
            }
        }
    }

    @Test
    void aBurstIsStoredWhole() throws Exception {
        try (LogStore logs = LogStore.start(Database.open(dir), 100_000, 4_096)) {
            for (int i = 0; i < 10_000; i++) {
                logs.append("f", "s", null, i, "line " + i);
            }
            assertThat(logs.flush(10_000)).isTrue();
            assertThat(logs.query("f", 0, 0, null, 20_000)).hasSize(10_000);
            assertThat(logs.dropped()).isZero();
        }
    }
}
