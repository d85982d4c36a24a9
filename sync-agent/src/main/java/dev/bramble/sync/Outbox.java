package dev.bramble.sync;

import dev.bramble.protocol.TelemetryEntry;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A durable queue of telemetry entries with a disk cap. One writer thread numbers and stores entries in batches;
 * {@link #append} only queues (in memory, a few thousand entries at most: what a SIGKILL can lose) and waits for
 * room at most 100 ms when a burst outruns the disk. When the stored entries pass the cap (the configured one, or
 * less while the disk has less room) the oldest are dropped first, and each stream
 * that lost entries gets a gap record in their place saying how many; entries that could not even be queued are
 * counted the same way. Entries stay until {@link #ack acknowledged}.
 */
public interface Outbox extends AutoCloseable {

    /** The smallest cap: room for a few gap records and some entries. */
    long MIN_CAP_BYTES = 16 * 1024;

    /**
     * Opens (creating if needed) an outbox file and starts its writer.
     *
     * @param capBytes the most its entries may take, counted as their text plus {@link #ENTRY_OVERHEAD} bytes each
     */
    static Outbox open(Path file, long capBytes) {
        return SqliteOutbox.open(file, capBytes);
    }

    /** What an entry costs besides its text, in the cap's accounting: its row, index and page share. */
    int ENTRY_OVERHEAD = 48;

    /**
     * Queues an entry; it gets its sequence number when stored. Waits at most 100 ms for room in the queue, then
     * drops the entry and counts it in a gap record of its stream.
     */
    void append(TelemetryEntry entry);

    /** Stored entries after {@code afterSeq}, oldest first: at most {@code maxEntries}, and {@code maxBytes} (at least one). */
    List<TelemetryEntry> read(long afterSeq, int maxEntries, long maxBytes);

    /** Every entry up to {@code seq} is delivered: the writer deletes them. */
    void ack(long seq);

    /** Waits until everything appended so far is stored (or dropped and counted); false on timeout. */
    boolean flush(Duration timeout) throws InterruptedException;

    /** What waits to be delivered. */
    Backlog backlog();

    /** This outbox's identity: sequence numbers count within it. */
    String id();

    /** Stops the writer after it has stored what is queued. Idempotent. */
    @Override
    void close();

    /**
     * What the outbox holds.
     *
     * @param entries  stored entries not yet acknowledged
     * @param bytes    their size in the cap's accounting
     * @param capBytes the cap in force: the configured one, or less while the disk has less room
     * @param configuredCapBytes the configured cap
     * @param oldestTs the oldest one's timestamp (epoch ms), 0 when empty
     * @param queued   entries appended but not yet stored
     * @param dropped  entries dropped since the outbox was opened (cap or full queue)
     * @param lastSeq  the highest sequence number given so far
     */
    record Backlog(long entries, long bytes, long capBytes, long configuredCapBytes, long oldestTs, long queued,
                   long dropped, long lastSeq) {
    }
}
