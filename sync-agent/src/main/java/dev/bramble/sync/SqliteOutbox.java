package dev.bramble.sync;

import dev.bramble.protocol.TelemetryEntry;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The outbox in one SQLite file (WAL, {@code synchronous=FULL}: a committed entry survives a killed process and a
 * power cut). One writer thread owns every change: it inserts queued entries a batch per transaction, deletes
 * acknowledged ones and enforces the cap. Readers use their own connection, which WAL lets run beside the writer.
 */
final class SqliteOutbox implements Outbox {
    private static final System.Logger LOG = System.getLogger(SqliteOutbox.class.getName());
    /**
     * Entries queued in memory at most: what a SIGKILL or power cut can lose without a trace. Small, so that loss
     * stays a few milliseconds of the writer's work; a producer faster than the disk waits instead (see append).
     */
    static final int QUEUE = 8_192;
    /** How long the writer gathers entries into one transaction after the first arrives. */
    static final long LINGER_MS = 10;
    /** How long an append waits for room before the entry is dropped and counted in a gap record. */
    static final long APPEND_WAIT_MS = 100;
    private static final int BATCH = 4_096;
    /**
     * A transaction's entries at most, in the cap's accounting: the WAL holds a whole transaction, so this bounds the
     * disk the WAL needs beside the file (see {@link #WAL_ALLOWANCE}).
     */
    static final long BATCH_BYTES = 512 * 1024;
    /** Acknowledged entries deleted per transaction at most. */
    static final int DELETE_ROWS = 2_000;
    private static final String COLUMNS = "seq, stream, kind, ts, log_stream, request_id, body, dropped";
    private static final TelemetryEntry.Kind[] KINDS = TelemetryEntry.Kind.values();

    /** At most this much of its disk's free space the outbox leaves to everything else: a tenth of the disk. */
    static final long RESERVE_MAX_BYTES = 64L << 20;
    /** How much the file may grow per byte of the cap's accounting: pages, the index and the WAL beside it. */
    static final int FILE_GROWTH = 2;
    /** WAL pages after which SQLite checkpoints (its default), and the size the WAL is cut back to then. */
    private static final int WAL_PAGES = 1_000;
    private static final long WAL_LIMIT_BYTES = 4L << 20;
    /** How often the writer looks at the disk's free space at most, unless the outbox grew much since. */
    private static final long SPACE_CHECK_NANOS = 250_000_000L;
    /**
     * The disk the WAL may take: its limit and one transaction beyond the checkpoint threshold, twice over; what it
     * does not have yet is kept free.
     */
    static final long WAL_ALLOWANCE = 2 * (WAL_LIMIT_BYTES + FILE_GROWTH * BATCH_BYTES);

    private final Path file;
    private final long capBytes;
    private final Space space;
    /** The cap in force: the configured one, or less while the disk has less room; written by the writer only. */
    private volatile long effectiveCap;
    private final String id;
    private final Connection writerConnection;
    private final Connection readerConnection;
    private final ReentrantLock readerLock = new ReentrantLock();
    private final BlockingQueue<TelemetryEntry> queue = new ArrayBlockingQueue<>(QUEUE);
    /** Entries of a stream that found the queue full, not yet announced by a gap; guarded by appendLock. */
    private final Map<String, long[]> overflow = new HashMap<>();
    private final ReentrantLock appendLock = new ReentrantLock();
    private final AtomicLong enqueued = new AtomicLong();
    private final AtomicLong acked = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final ReentrantLock stateLock = new ReentrantLock();
    private final Condition progressed = stateLock.newCondition();
    private final Thread writer;
    // Written by the writer thread only; read by anyone.
    private volatile long processed;
    private volatile long entries;
    private volatile long bytes;
    private volatile long lastSeq;
    private volatile boolean closing;
    private long lastDropLog = System.nanoTime() - 120_000_000_000L;
    private long lastFailureLog = System.nanoTime() - 120_000_000_000L;
    /** The disk's room for the outbox when last looked at (see cap); the writer's only. */
    private long spaceCheckedAt = System.nanoTime() - 1_000_000_000_000L;
    private long storedAtCheck;
    private long roomAtCheck;
    private long failures;

    /** The disk the outbox is on, as the writer reads it before each batch. */
    interface Space {
        long usable() throws java.io.IOException;

        long total() throws java.io.IOException;

        static Space of(Path file) throws java.io.IOException {
            java.nio.file.FileStore store = java.nio.file.Files.getFileStore(file.toAbsolutePath().getParent());
            return new Space() {
                @Override
                public long usable() throws java.io.IOException {
                    return store.getUsableSpace();
                }

                @Override
                public long total() throws java.io.IOException {
                    return store.getTotalSpace();
                }
            };
        }
    }

    private SqliteOutbox(Path file, long capBytes, Space space, Connection writerConnection,
                         Connection readerConnection, String id) throws SQLException {
        this.file = file;
        this.capBytes = capBytes;
        this.space = space;
        this.effectiveCap = capBytes;
        this.writerConnection = writerConnection;
        this.readerConnection = readerConnection;
        this.id = id;
        Counts counts = Counts.of(writerConnection);
        entries = counts.entries;
        bytes = counts.bytes;
        lastSeq = counts.lastSeq;
        this.writer = Thread.ofPlatform().name("bramble-outbox-writer").daemon(true).unstarted(this::drain);
    }

    static Outbox open(Path file, long capBytes) {
        try {
            // The file may not exist yet; its directory must.
            return open(file, capBytes, Space.of(file));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot open the outbox " + file + ": " + e.getMessage(), e);
        }
    }

    static Outbox open(Path file, long capBytes, Space space) {
        if (capBytes < MIN_CAP_BYTES) {
            throw new IllegalArgumentException("outbox cap " + capBytes + " bytes is below the smallest allowed, "
                    + MIN_CAP_BYTES);
        }
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
        config.setBusyTimeout(10_000);
        SQLiteDataSource ds = new SQLiteDataSource(config);
        // Created 0600 before SQLite opens it: SQLite gives its WAL and shared-memory files the same mode.
        dev.bramble.protocol.PrivateFiles.create(file);
        ds.setUrl("jdbc:sqlite:" + file);
        Connection w = null;
        try {
            w = ds.getConnection();
            try (Statement st = w.createStatement()) {
                // a small WAL, cut back after each checkpoint: on a small disk its room is counted (WAL_ALLOWANCE)
                st.execute("PRAGMA wal_autocheckpoint = " + WAL_PAGES);
                st.execute("PRAGMA journal_size_limit = " + WAL_LIMIT_BYTES);
            }
            String id = migrate(w);
            SqliteOutbox outbox = new SqliteOutbox(file, capBytes, space, w, ds.getConnection(), id);
            outbox.writer.start();
            return outbox;
        } catch (SQLException e) {
            closeQuietly(w);
            throw new IllegalStateException("cannot open the outbox " + file + ": " + e.getMessage(), e);
        }
    }

    /** Creates the schema on first use; returns the outbox's id, made once. */
    private static String migrate(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            // AUTOINCREMENT: a sequence number is never given twice, even after every entry was acknowledged.
            s.execute("CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                    + "stream TEXT NOT NULL, kind INTEGER NOT NULL, ts INTEGER NOT NULL, log_stream TEXT, "
                    + "request_id TEXT, body TEXT, dropped INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL)");
            s.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
            s.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('outbox-id', '" + UUID.randomUUID() + "')");
            try (ResultSet rs = s.executeQuery("SELECT value FROM meta WHERE key = 'outbox-id'")) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    @Override
    public void append(TelemetryEntry entry) {
        appendLock.lock();
        try {
            long[] missed = overflow.get(entry.stream());
            // A stream that lost entries to a full queue says so, in its own order, before its next entry.
            if (missed != null) {
                if (!offer(TelemetryEntry.gap(0, entry.stream(), missed[1], missed[0]))) {
                    missed[0]++;
                    missed[1] = entry.ts();
                    dropped.incrementAndGet();
                    return;
                }
                enqueued.incrementAndGet();
                overflow.remove(entry.stream());
            }
            if (offer(entry)) {
                enqueued.incrementAndGet();
            } else {
                overflow.put(entry.stream(), new long[] {1, entry.ts()});
                dropped.incrementAndGet();
            }
        } finally {
            appendLock.unlock();
        }
    }

    /** Queues, waiting a little for room: a burst slows its producer instead of losing entries. */
    private boolean offer(TelemetryEntry e) {
        try {
            return queue.offer(e) || queue.offer(e, APPEND_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public List<TelemetryEntry> read(long afterSeq, int maxEntries, long maxBytes) {
        List<TelemetryEntry> out = new ArrayList<>();
        readerLock.lock();
        try (PreparedStatement s = readerConnection.prepareStatement("SELECT " + COLUMNS
                + ", bytes FROM entries WHERE seq > ? ORDER BY seq LIMIT ?")) {
            s.setLong(1, afterSeq);
            s.setInt(2, maxEntries);
            long total = 0;
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    total += rs.getLong(9);
                    if (!out.isEmpty() && total > maxBytes) {
                        break;
                    }
                    out.add(new TelemetryEntry(rs.getLong(1), rs.getString(2), KINDS[rs.getInt(3)], rs.getLong(4),
                            rs.getString(5), rs.getString(6), rs.getString(7), rs.getLong(8)));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the outbox " + file + ": " + e.getMessage(), e);
        } finally {
            readerLock.unlock();
        }
        return out;
    }

    @Override
    public void ack(long seq) {
        acked.accumulateAndGet(seq, Math::max);
        writer.interrupt();
    }

    @Override
    public boolean flush(Duration timeout) throws InterruptedException {
        long target = enqueued.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        stateLock.lock();
        try {
            while (processed < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                progressed.awaitNanos(left);
            }
            return true;
        } finally {
            stateLock.unlock();
        }
    }

    @Override
    public Backlog backlog() {
        long oldest = 0;
        readerLock.lock();
        try (Statement s = readerConnection.createStatement();
             ResultSet rs = s.executeQuery("SELECT ts FROM entries ORDER BY seq LIMIT 1")) {
            oldest = rs.next() ? rs.getLong(1) : 0;
        } catch (SQLException e) {
            LOG.log(Level.WARNING, "outbox.backlog-failed error={0}", e.toString());
        } finally {
            readerLock.unlock();
        }
        return new Backlog(entries, bytes, effectiveCap, capBytes, oldest, enqueued.get() - processed, dropped.get(),
                lastSeq);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        writer.interrupt();
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(readerConnection);
        closeQuietly(writerConnection);
    }

    // --- the writer thread ------------------------------------------------------------------------------------

    private void drain() {
        List<TelemetryEntry> batch = new ArrayList<>(BATCH);
        long deletedUpTo = 0;
        boolean failed = false;
        try {
            writerConnection.setAutoCommit(false);
        } catch (SQLException e) {
            LOG.log(Level.ERROR, "outbox.writer-failed error={0}", e.toString());
            return;
        }
        while (true) {
            try {
                // acknowledged entries still to delete: go on with them at once (unless the last write failed)
                TelemetryEntry first = acked.get() > deletedUpTo && !failed ? queue.poll()
                        : queue.poll(500, TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    linger(batch, gather(batch, size(first)));
                }
            } catch (InterruptedException e) {
                // An acknowledgement or close: look at both below.
            }
            long ack = acked.get();
            if (batch.isEmpty() && ack <= deletedUpTo) {
                if (closing && queue.isEmpty()) {
                    return;
                }
                continue;
            }
            int taken = batch.size();
            try {
                Counts after = new Counts(entries, bytes, lastSeq);
                long deleting = deletedUpTo;
                if (ack > deletedUpTo) {
                    deleting = deleteAcknowledged(deletedUpTo, ack, after);
                }
                // Room is made before the batch goes in, as a full disk would fail the insert itself; then, as
                // ever, the oldest go until the cap holds (the batch's own oldest, if it alone is over the cap).
                long cap = cap(after.bytes);
                long incoming = batch.stream().mapToLong(SqliteOutbox::size).sum();
                long lost = after.bytes > 0 && after.bytes + incoming > cap
                        ? enforceCap(after, Math.max(0, cap - incoming)) : 0;
                insert(batch, after);
                if (after.bytes > cap) {
                    lost += enforceCap(after, cap);
                }
                effectiveCap = cap;
                writerConnection.commit();
                deletedUpTo = Math.max(deletedUpTo, deleting);
                failed = false;
                entries = after.entries;
                bytes = after.bytes;
                lastSeq = after.lastSeq;
                dropped.addAndGet(lost);
            } catch (SQLException e) {
                rollback();
                // Nothing of the batch is stored: drop it and say so per stream, as a full queue would.
                batch.forEach(this::countUnstored);
                failed = true;
                failures++;
                long now = System.nanoTime();
                if (now - lastFailureLog > 60_000_000_000L) { // a disk full for hours would log twice a second
                    lastFailureLog = now;
                    LOG.log(Level.ERROR, "outbox.write-failed entries={0} failures_since_last_log={1} error={2}",
                            batch.size(), failures, e.toString());
                    failures = 0;
                }
            }
            progressed(taken);
            batch.clear();
        }
    }

    /**
     * Group commit: up to {@link #LINGER_MS} more to gather what else arrives, so a steady trickle (three lines per
     * invocation) costs one fsync per window instead of one per line.
     */
    private void linger(List<TelemetryEntry> batch, long bytes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MS);
        while (batch.size() < BATCH && bytes < BATCH_BYTES && !closing) {
            long left = deadline - System.nanoTime();
            TelemetryEntry next = left <= 0 ? null : queue.poll(left, TimeUnit.NANOSECONDS);
            if (next == null) {
                return;
            }
            batch.add(next);
            bytes = gather(batch, bytes + size(next));
        }
    }

    /** Moves what is queued into the batch, up to its limits in entries and bytes; returns the batch's bytes. */
    private long gather(List<TelemetryEntry> batch, long bytes) {
        while (batch.size() < BATCH && bytes < BATCH_BYTES) {
            TelemetryEntry next = queue.poll();
            if (next == null) {
                break;
            }
            batch.add(next);
            bytes += size(next);
        }
        return bytes;
    }

    private void insert(List<TelemetryEntry> batch, Counts counts) throws SQLException {
        if (batch.isEmpty()) {
            return;
        }
        try (PreparedStatement s = writerConnection.prepareStatement("INSERT INTO entries (stream, kind, ts, "
                + "log_stream, request_id, body, dropped, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            for (TelemetryEntry e : batch) {
                bind(s, 1, e);
                s.addBatch();
                counts.bytes += size(e);
            }
            s.executeBatch();
        }
        counts.entries += batch.size();
        counts.lastSeq = Counts.lastSeq(writerConnection);
    }

    private static void bind(PreparedStatement s, int from, TelemetryEntry e) throws SQLException {
        s.setString(from, e.stream());
        s.setInt(from + 1, e.kind().ordinal());
        s.setLong(from + 2, e.ts());
        s.setString(from + 3, e.logStream());
        s.setString(from + 4, e.requestId());
        s.setString(from + 5, e.body());
        s.setLong(from + 6, e.dropped());
        s.setLong(from + 7, size(e));
    }

    /** An entry's size in the cap's accounting. */
    static long size(TelemetryEntry e) {
        return ENTRY_OVERHEAD + length(e.stream()) + length(e.logStream()) + length(e.requestId()) + length(e.body());
    }

    private static int length(String s) {
        return s == null ? 0 : s.length();
    }

    /**
     * Deletes acknowledged entries after {@code from} up to {@code ack}, at most {@link #DELETE_ROWS} of them: a
     * transaction's changed pages all go to the WAL first, so a large acknowledgement is deleted in steps on a disk
     * with little room. Returns the sequence number deleted up to.
     */
    private long deleteAcknowledged(long from, long ack, Counts counts) throws SQLException {
        long upTo = ack;
        try (PreparedStatement q = writerConnection.prepareStatement("SELECT seq FROM entries WHERE seq > ? "
                + "AND seq <= ? ORDER BY seq LIMIT 1 OFFSET " + (DELETE_ROWS - 1))) {
            q.setLong(1, from);
            q.setLong(2, ack);
            try (ResultSet rs = q.executeQuery()) {
                if (rs.next()) {
                    upTo = rs.getLong(1);
                }
            }
        }
        delete(upTo, counts);
        return upTo;
    }

    private void delete(long upTo, Counts counts) throws SQLException {
        try (PreparedStatement q = writerConnection.prepareStatement("SELECT COUNT(*), COALESCE(SUM(bytes), 0) "
                + "FROM entries WHERE seq <= ?")) {
            q.setLong(1, upTo);
            try (ResultSet rs = q.executeQuery()) {
                rs.next();
                counts.entries -= rs.getLong(1);
                counts.bytes -= rs.getLong(2);
            }
        }
        try (PreparedStatement s = writerConnection.prepareStatement("DELETE FROM entries WHERE seq <= ?")) {
            s.setLong(1, upTo);
            s.executeUpdate();
        }
    }

    /**
     * Drops the oldest entries until a tenth of the cap is free again (so the next entries do not each trigger a
     * drop). Each stream that lost entries gets one gap record, at the place of its newest dropped entry, carrying
     * the count (a dropped gap record's count is carried over). Returns how many entries (not gaps) it dropped.
     */
    private long enforceCap(Counts counts, long cap) throws SQLException {
        long target = cap - cap / 10;
        if (counts.entries == 0) {
            return 0;
        }
        long freed = 0;
        long over = counts.bytes - target;
        long lines = 0;
        long upTo = 0;
        Map<String, long[]> lost = new LinkedHashMap<>(); // stream -> {count, lastSeq, lastTs}
        try (PreparedStatement s = writerConnection.prepareStatement("SELECT seq, stream, kind, ts, dropped, bytes "
                + "FROM entries WHERE seq > ? ORDER BY seq LIMIT 1000")) {
            while (freed < over) {
                s.setLong(1, upTo);
                int rows = 0;
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next() && freed < over) {
                        rows++;
                        upTo = rs.getLong(1);
                        boolean gap = KINDS[rs.getInt(3)] == TelemetryEntry.Kind.GAP;
                        long n = gap ? rs.getLong(5) : 1;
                        lines += gap ? 0 : 1;
                        long[] l = lost.computeIfAbsent(rs.getString(2), k -> new long[3]);
                        l[0] += n;
                        l[1] = upTo;
                        l[2] = rs.getLong(4);
                        freed += rs.getLong(6);
                    }
                }
                if (rows == 0) {
                    break;
                }
            }
        }
        delete(upTo, counts);
        try (PreparedStatement s = writerConnection.prepareStatement("INSERT INTO entries (seq, stream, kind, ts, "
                + "log_stream, request_id, body, dropped, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            for (Map.Entry<String, long[]> e : lost.entrySet()) {
                long[] l = e.getValue();
                s.setLong(1, l[1]);
                TelemetryEntry gap = TelemetryEntry.gap(l[1], e.getKey(), l[2], l[0]);
                bind(s, 2, gap);
                s.addBatch();
                counts.entries++;
                counts.bytes += size(gap);
            }
            s.executeBatch();
        }
        // Once a minute at most: a full outbox drops at every tenth of its cap.
        long now = System.nanoTime();
        if (now - lastDropLog > 60_000_000_000L) {
            lastDropLog = now;
            LOG.log(Level.WARNING, "outbox.full cap_bytes={0} configured_cap_bytes={1} dropped_now={2} streams={3} "
                    + "dropped_total={4}", cap, capBytes, lines, lost.keySet(), dropped.get() + lines);
        }
        return lines;
    }

    /**
     * The cap for the stored entries now: the configured one, unless the disk has less room. The outbox may take
     * the disk's free space above a reserve (a tenth of the disk, at most {@link #RESERVE_MAX_BYTES}) and the
     * pages its own file has free (SQLite reuses them), allowing {@link #FILE_GROWTH} bytes of file per byte of
     * accounting: a configured cap larger than the disk, or a disk filled by something else, makes the outbox
     * drop its oldest entries (with gap records) instead of failing every write with "disk full".
     */
    private long cap(long stored) {
        long now = System.nanoTime();
        if (now - spaceCheckedAt < SPACE_CHECK_NANOS && stored - storedAtCheck < roomAtCheck / 4) {
            return Math.max(MIN_CAP_BYTES, Math.min(capBytes, storedAtCheck + roomAtCheck));
        }
        long room;
        try {
            long reserve = Math.min(RESERVE_MAX_BYTES, space.total() / 10);
            Path wal = file.resolveSibling(file.getFileName() + "-wal");
            long walGrowth = Math.max(0, WAL_ALLOWANCE - (java.nio.file.Files.exists(wal)
                    ? java.nio.file.Files.size(wal) : 0));
            room = (space.usable() + freePagesBytes() - reserve - walGrowth) / FILE_GROWTH;
        } catch (java.io.IOException | SQLException e) {
            return capBytes;
        }
        spaceCheckedAt = now;
        storedAtCheck = stored;
        roomAtCheck = room;
        return Math.max(MIN_CAP_BYTES, Math.min(capBytes, stored + room));
    }

    private long freePagesBytes() throws SQLException {
        try (Statement s = writerConnection.createStatement();
             ResultSet free = s.executeQuery("PRAGMA freelist_count")) {
            free.next();
            long pages = free.getLong(1);
            try (ResultSet size = s.executeQuery("PRAGMA page_size")) {
                size.next();
                return pages * size.getLong(1);
            }
        }
    }

    /** What the table holds, kept by the writer as it changes it rather than counted again. */
    private static final class Counts {
        long entries;
        long bytes;
        long lastSeq;

        Counts(long entries, long bytes, long lastSeq) {
            this.entries = entries;
            this.bytes = bytes;
            this.lastSeq = lastSeq;
        }

        static Counts of(Connection c) throws SQLException {
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM entries")) {
                rs.next();
                return new Counts(rs.getLong(1), rs.getLong(2), lastSeq(c));
            }
        }

        static long lastSeq(Connection c) throws SQLException {
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT seq FROM sqlite_sequence WHERE name = 'entries'")) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }

    private void countUnstored(TelemetryEntry e) {
        appendLock.lock();
        try {
            long n = e.kind() == TelemetryEntry.Kind.GAP ? e.dropped() : 1;
            overflow.merge(e.stream(), new long[] {n, e.ts()}, (a, b) -> new long[] {a[0] + b[0], b[1]});
            dropped.addAndGet(n);
        } finally {
            appendLock.unlock();
        }
    }

    private void progressed(int n) {
        stateLock.lock();
        try {
            processed += n;
            progressed.signalAll();
        } finally {
            stateLock.unlock();
        }
    }

    private void rollback() {
        try {
            writerConnection.rollback();
        } catch (SQLException e) {
            // SQLite rolls back by itself after SQLITE_FULL and some I/O errors: nothing is left to undo then.
            LOG.log(e.getMessage() != null && e.getMessage().contains("no transaction is active") ? Level.DEBUG
                    : Level.ERROR, "outbox.rollback-failed error={0}", e.toString());
        }
    }

    private static void closeQuietly(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException e) {
            LOG.log(Level.WARNING, "outbox.close-failed error={0}", e.toString());
        }
    }
}
