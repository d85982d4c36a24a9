package dev.bramble.sync;

import dev.bramble.protocol.TelemetryEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The outbox's cap follows the disk it is on: a configured cap larger than the free space (a big profile default on
 * a small SD card, a disk filled by something else) makes it drop its oldest entries, with gap records, instead of
 * filling the disk until every write of the daemon fails.
 */
class OutboxDiskSpaceTest {
    private static final String TEXT = "x".repeat(1000);

    @TempDir
    Path dir;

    @Test
    void onADiskWithLessRoomThanItsCapTheOutboxDropsItsOldestAndLeavesTheReserveFree() throws Exception {
        // A 24 MB disk of which something else already uses 12 MB; the outbox's files take the rest as they grow.
        long total = 24L << 20;
        long other = 12L << 20;
        Path file = dir.resolve("outbox.db");
        SqliteOutbox.Space disk = new SqliteOutbox.Space() {
            @Override
            public long usable() throws IOException {
                return total - other - filesSize(dir);
            }

            @Override
            public long total() {
                return total;
            }
        };
        try (Outbox o = SqliteOutbox.open(file, 1L << 30, disk)) {
            long lastSeqBefore = write(o, 40_000, "flood");
            Outbox.Backlog b = o.backlog();
            assertThat(b.configuredCapBytes()).isEqualTo(1L << 30);
            assertThat(b.capBytes()).isLessThan(12L << 20);
            assertThat(b.dropped()).isPositive();
            // what the outbox leaves free: at least most of the reserve (a tenth of the disk)
            assertThat(disk.usable()).isGreaterThan(total / 20);
            // the newest entry is stored, and the kept ones start with the stream's gap record
            List<TelemetryEntry> kept = o.read(0, 1_000_000, Long.MAX_VALUE);
            assertThat(kept.getFirst().kind()).isEqualTo(TelemetryEntry.Kind.GAP);
            assertThat(storedOrCounted(kept)).isEqualTo(40_000);
            assertThat(b.dropped()).isEqualTo(40_000 - lines(kept));
            assertThat(lastLine(kept)).isEqualTo("flood 39999 " + TEXT);
            assertThat(lastSeqBefore).isEqualTo(b.lastSeq());
        }
    }

    /** The same on a real 24 MB tmpfs, where SQLite would otherwise get "database or disk is full" (CI is root). */
    @Test
    void onARealSmallDiskTheOutboxNeverFillsIt() throws Exception {
        assumeTrue(isRoot(), "mounting a tmpfs needs root; scripts/test runs as root in CI");
        Path mount = Files.createDirectories(dir.resolve("disk"));
        run("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mount.toString());
        try {
            try (Outbox o = Outbox.open(mount.resolve("outbox.db"), 1L << 30)) {
                write(o, 60_000, "flood");
                Outbox.Backlog b = o.backlog();
                assertThat(b.dropped()).isPositive();
                assertThat(b.capBytes()).isLessThan(b.configuredCapBytes());
                assertThat(Files.getFileStore(mount).getUsableSpace()).isGreaterThan((24L << 20) / 20);
                List<TelemetryEntry> kept = o.read(0, 1_000_000, Long.MAX_VALUE);
                assertThat(storedOrCounted(kept)).as("every entry stored or counted").isEqualTo(60_000);
                assertThat(lastLine(kept)).isEqualTo("flood 59999 " + TEXT);
                // once acknowledged, entries make room for new ones, none dropped
                o.ack(b.lastSeq());
                write(o, 10, "after");
                assertThat(o.read(b.lastSeq(), 100, Long.MAX_VALUE)).extracting(TelemetryEntry::body)
                        .hasSize(10).allMatch(body -> body.startsWith("after "));
                assertThat(o.backlog().dropped()).isEqualTo(b.dropped());
            }
        } finally {
            run("umount", mount.toString());
        }
    }

    private static long write(Outbox o, int n, String stream) throws InterruptedException {
        for (int i = 0; i < n; i++) {
            o.append(TelemetryEntry.log(stream, i, "env-1", null, stream + " " + i + " " + TEXT));
        }
        assertThat(o.flush(Duration.ofSeconds(60))).isTrue();
        return o.backlog().lastSeq();
    }

    /** Lines kept plus the lines the gap records count as dropped. */
    private static long storedOrCounted(List<TelemetryEntry> kept) {
        return kept.stream().mapToLong(e -> e.kind() == TelemetryEntry.Kind.GAP ? e.dropped() : 1).sum();
    }

    private static long lines(List<TelemetryEntry> kept) {
        return kept.stream().filter(e -> e.kind() == TelemetryEntry.Kind.LOG).count();
    }

    private static String lastLine(List<TelemetryEntry> kept) {
        return kept.stream().filter(e -> e.kind() == TelemetryEntry.Kind.LOG).reduce((a, b) -> b).orElseThrow()
                .body();
    }

    private static long filesSize(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).inheritIO().start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command)).isZero();
    }
}
