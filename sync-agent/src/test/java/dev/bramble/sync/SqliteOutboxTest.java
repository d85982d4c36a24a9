package dev.bramble.sync;

import dev.bramble.protocol.TelemetryEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SqliteOutboxTest {
    @TempDir
    Path dir;

    @Test
    void entriesAreNumberedInOrderAndNumbersAreNeverGivenTwice() throws Exception {
        Path file = dir.resolve("outbox.db");
        String id;
        try (Outbox o = Outbox.open(file, 1 << 20)) {
            id = o.id();
            for (int i = 0; i < 100; i++) {
                o.append(TelemetryEntry.log("f", i, "s", null, "line " + i));
            }
            assertThat(o.flush(Duration.ofSeconds(10))).isTrue();
            List<TelemetryEntry> all = o.read(0, 1000, Long.MAX_VALUE);
            assertThat(all).extracting(TelemetryEntry::seq).containsExactlyElementsOf(range(1, 100));
            assertThat(all).extracting(TelemetryEntry::body).first().isEqualTo("line 0");
            o.ack(100);
            o.append(TelemetryEntry.log("f", 100, "s", null, "after ack"));
            assertThat(o.flush(Duration.ofSeconds(10))).isTrue();
        }
        // Every earlier entry acknowledged and deleted, and reopened: the count goes on, it does not restart.
        try (Outbox o = Outbox.open(file, 1 << 20)) {
            assertThat(o.id()).isEqualTo(id);
            assertThat(o.read(0, 1000, Long.MAX_VALUE)).extracting(TelemetryEntry::seq, TelemetryEntry::body)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(101L, "after ack"));
            o.ack(101);
            o.append(TelemetryEntry.log("f", 101, "s", null, "next"));
            assertThat(o.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(o.read(0, 10, Long.MAX_VALUE)).extracting(TelemetryEntry::seq).containsExactly(102L);
            assertThat(o.backlog().entries()).isEqualTo(1);
        }
    }

    @Test
    void readStopsAtTheByteLimitButReturnsAtLeastOneEntry() throws Exception {
        try (Outbox o = Outbox.open(dir.resolve("outbox.db"), 1 << 20)) {
            for (int i = 0; i < 10; i++) {
                o.append(TelemetryEntry.log("f", i, null, null, "x".repeat(1000)));
            }
            assertThat(o.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(o.read(0, 100, 3 * 1100)).hasSize(3);
            assertThat(o.read(0, 100, 1)).hasSize(1);
            assertThat(o.read(8, 100, Long.MAX_VALUE)).extracting(TelemetryEntry::seq).containsExactly(9L, 10L);
        }
    }

    @Test
    void overTheCapTheOldestAreDroppedAndEachStreamGetsAGapRecordWithItsCount() throws Exception {
        long cap = 64 * 1024;
        int perStream = 3_000;
        List<String> streams = List.of("alpha", "beta", "gamma");
        try (Outbox o = Outbox.open(dir.resolve("outbox.db"), cap)) {
            for (int i = 0; i < perStream; i++) {
                for (String s : streams) {
                    o.append(TelemetryEntry.log(s, i, "env-1", null, s + " line " + i));
                }
            }
            assertThat(o.flush(Duration.ofSeconds(30))).isTrue();
            Outbox.Backlog b = o.backlog();
            assertThat(b.bytes()).isLessThanOrEqualTo(cap);

            Map<String, List<TelemetryEntry>> byStream = new LinkedHashMap<>();
            long previous = 0;
            for (TelemetryEntry e : o.read(0, 1_000_000, Long.MAX_VALUE)) {
                assertThat(e.seq()).isGreaterThan(previous);
                previous = e.seq();
                byStream.computeIfAbsent(e.stream(), k -> new ArrayList<>()).add(e);
            }
            long droppedTotal = 0;
            for (String s : streams) {
                List<TelemetryEntry> kept = byStream.get(s);
                // Exactly one gap, first in the stream's order, then every later line without a hole.
                TelemetryEntry gap = kept.getFirst();
                assertThat(gap.kind()).isEqualTo(TelemetryEntry.Kind.GAP);
                assertThat(kept.subList(1, kept.size())).allMatch(e -> e.kind() == TelemetryEntry.Kind.LOG);
                List<TelemetryEntry> lines = kept.subList(1, kept.size());
                assertThat(lines).isNotEmpty();
                int first = lineNumber(lines.getFirst());
                assertThat(gap.dropped()).isEqualTo(first);
                for (int i = 0; i < lines.size(); i++) {
                    assertThat(lineNumber(lines.get(i))).isEqualTo(first + i);
                }
                assertThat(first + lines.size()).isEqualTo(perStream);
                droppedTotal += gap.dropped();
            }
            assertThat(b.dropped()).isEqualTo(droppedTotal);
            // The file itself stays near the cap: SQLite reuses the pages of deleted rows.
            assertThat(Files.size(dir.resolve("outbox.db"))).isLessThan(4 * cap);
        }
    }

    @Test
    void aDroppedGapRecordCarriesItsCountIntoTheNextOne() throws Exception {
        long cap = Outbox.MIN_CAP_BYTES;
        try (Outbox o = Outbox.open(dir.resolve("outbox.db"), cap)) {
            int n = 0;
            for (int round = 0; round < 5; round++) {
                for (int i = 0; i < 500; i++, n++) {
                    o.append(TelemetryEntry.log("only", n, null, null, "line " + n));
                }
                assertThat(o.flush(Duration.ofSeconds(10))).isTrue();
            }
            List<TelemetryEntry> kept = o.read(0, 100_000, Long.MAX_VALUE);
            assertThat(kept.getFirst().kind()).isEqualTo(TelemetryEntry.Kind.GAP);
            assertThat(kept.stream().filter(e -> e.kind() == TelemetryEntry.Kind.GAP)).hasSize(1);
            assertThat(kept.getFirst().dropped() + kept.size() - 1).isEqualTo(n);
        }
    }

    @Test
    void aCapBelowTheSmallestIsRefusedWithTheLimit() {
        assertThatThrownBy(() -> Outbox.open(dir.resolve("outbox.db"), 100))
                .hasMessageContaining("100 bytes").hasMessageContaining(Long.toString(Outbox.MIN_CAP_BYTES));
    }

    private static int lineNumber(TelemetryEntry e) {
        return Integer.parseInt(e.body().substring(e.body().lastIndexOf(' ') + 1));
    }

    private static List<Long> range(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long i = from; i <= to; i++) {
            out.add(i);
        }
        return out;
    }
}
