package dev.bramble.sync;

import dev.bramble.protocol.TelemetryEntry;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Run in its own JVM by {@link OutboxKillTest}: appends numbered lines as fast as the outbox stores them and prints
 * the last sequence number known committed after each flush, until it is killed.
 */
public final class OutboxWriterMain {
    private OutboxWriterMain() {
    }

    public static void main(String[] args) throws Exception {
        Outbox o = Outbox.open(Path.of(args[0]), 1L << 30);
        long n = o.backlog().lastSeq();
        while (true) {
            for (int i = 0; i < 200; i++) {
                n++;
                o.append(TelemetryEntry.log("f", n, "s", "r", "line " + n));
            }
            if (!o.flush(Duration.ofSeconds(30))) {
                throw new IllegalStateException("flush timed out");
            }
            System.out.println("committed " + n);
            System.out.flush();
        }
    }
}
