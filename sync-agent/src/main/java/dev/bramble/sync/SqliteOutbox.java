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
    private static final String COLUMNS = "seq, stream, kind, ts, log_stream, request_id, body, dropped";
    private static final TelemetryEntry.Kind[] KINDS = TelemetryEntry.Kind.values();

    private final Path file;
    private final long capBytes;
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

    private SqliteOutbox(Path file, long capBytes, Connection writerConnection, Connection readerConnection,
                         String id) throws SQLException {
        this.file = file;
        this.capBytes = capBytes;
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
            String id = migrate(w);
            SqliteOutbox outbox = new SqliteOutbox(file, capBytes, w, ds.getConnection(), id);
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
        return new Backlog(entries, bytes, capBytes, oldest, enqueued.get() - processed, dropped.get(), lastSeq);
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
        try {
            writerConnection.setAutoCommit(false);
        } catch (SQLException e) {
            LOG.log(Level.ERROR, "outbox.writer-failed error={0}", e.toString());
            return;
        }
        while (true) {
            try {
                TelemetryEntry first = queue.poll(500, TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    queue.drainTo(batch, BATCH - 1);
                    linger(batch);
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
            try {
                Counts after = new Counts(entries, bytes, lastSeq);
                insert(batch, after);
                if (ack > deletedUpTo) {
                    delete(ack, after);
                }
                long lost = after.bytes > capBytes ? enforceCap(after) : 0;
                writerConnection.commit();
                deletedUpTo = Math.max(deletedUpTo, ack);
                entries = after.entries;
                bytes = after.bytes;
                lastSeq = after.lastSeq;
                dropped.addAndGet(lost);
            } catch (SQLException e) {
                rollback();
                // Nothing of the batch is stored: drop it and say so per stream, as a full queue would.
                batch.forEach(this::countUnstored);
                LOG.log(Level.ERROR, "outbox.write-failed entries={0} error={1}", batch.size(), e.toString());
            }
            progressed(batch.size());
            batch.clear();
        }
    }

    /**
     * Group commit: up to {@link #LINGER_MS} more to gather what else arrives, so a steady trickle (three lines per
     * invocation) costs one fsync per window instead of one per line.
     */
    private void linger(List<TelemetryEntry> batch) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MS);
        while (batch.size() < BATCH && !closing) {
            long left = deadline - System.nanoTime();
            TelemetryEntry next = left <= 0 ? null : queue.poll(left, TimeUnit.NANOSECONDS);
            if (next == null) {
                return;
            }
            batch.add(next);
            queue.drainTo(batch, BATCH - batch.size());
        }
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
    private long enforceCap(Counts counts) throws SQLException {
        long target = capBytes - capBytes / 10;
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
            LOG.log(Level.WARNING, "outbox.full cap_bytes={0} dropped_now={1} streams={2} dropped_total={3}",
                    capBytes, lines, lost.keySet(), dropped.get() + lines);
        }
        return lines;
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
            LOG.log(Level.ERROR, "outbox.rollback-failed error={0}", e.toString());
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
