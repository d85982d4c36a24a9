package dev.bramble.daemon.logs;

import dev.bramble.daemon.store.Database;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** One invocation's log on a real store: Lambda's order whatever the timing, and one 4 KB tail. */
class InvocationLogTest {
    @TempDir
    Path dir;
    private LogStore store;

    @BeforeEach
    void open() {
        store = LogStore.start(Database.open(dir), 10_000, 16_384);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private List<String> stored() {
        return store.query("f", 0, 0, null, 1_000).stream().map(LogEvent::message).toList();
    }

    @Test
    void closingLinesGivenBeforeTheOutputDrainedStillComeAfterIt() {
        InvocationLog log = InvocationLog.start(store, "f", "s", "r1", 3, false, Clock.systemUTC());
        log.printed("one");
        log.close(List.of("END RequestId: r1", "REPORT RequestId: r1"));
        log.printed("two"); // still in the pipe when the answer came
        assertThat(stored()).containsExactly("START RequestId: r1 Version: 3", "one", "two");
        log.drained();
        assertThat(stored()).containsExactly("START RequestId: r1 Version: 3", "one", "two", "END RequestId: r1",
                "REPORT RequestId: r1");
        assertThat(store.query("f", 0, 0, null, 10).stream().map(LogEvent::requestId)).containsOnly("r1");
        assertThat(log.tail()).isEmpty(); // not asked for
    }

    @Test
    void theTailIsTheLastFourKilobytesOfTheWholeLogOnce() {
        InvocationLog log = InvocationLog.start(store, "f", "s", "r2", 1, true, Clock.systemUTC());
        for (int i = 0; i < 600; i++) {
            log.printed("é line " + i); // two bytes for é: the cut counts bytes
        }
        log.drained();
        log.close(List.of("END RequestId: r2", "REPORT RequestId: r2"));
        byte[] tail = log.tail();
        assertThat(tail).hasSize(InvocationLog.TAIL_BYTES);
        String text = new String(tail, StandardCharsets.UTF_8);
        assertThat(text).endsWith("é line 599\nEND RequestId: r2\nREPORT RequestId: r2\n");
        assertThat(text.split("END RequestId", -1)).hasSize(2);
    }

    @Test
    void aTailAskedForBeforeTheOutputDrainedHasTheClosingLinesOnce() {
        InvocationLog log = InvocationLog.start(store, "f", "s", "r3", 1, true, Clock.systemUTC());
        log.printed("hello");
        assertThat(log.awaitDrained(50)).isFalse();
        log.close(List.of("END RequestId: r3"));
        log.drained();
        assertThat(new String(log.tail(), StandardCharsets.UTF_8))
                .isEqualTo("START RequestId: r3 Version: 1\nhello\nEND RequestId: r3\n");
        assertThat(stored()).containsExactly("START RequestId: r3 Version: 1", "hello", "END RequestId: r3");
    }
}
