package dev.bramble.daemon.logs;

import dev.bramble.daemon.config.Option;
import dev.bramble.daemon.store.Database;

import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Stores function log lines, and hands each to a forward (the telemetry outbox) as it comes. Appending only queues
 * the line; one writer thread batches lines into transactions, so the invoke path never waits on this store's disk.
 * The writer gathers for {@link #LINGER_MS} after the first line of a batch (group commit): under steady load that
 * is one transaction per window instead of one per invocation's three or four lines, and appending wakes no one. A
 * query first waits for what is queued (at most {@link #READ_WAIT_MS}), so a reader sees the lines written before it
 * asked.
 * Each function keeps {@code retainLines} lines, oldest deleted first (pruned once a twentieth of that is new, so at
 * most 5 % more stand at any moment); a line longer than {@code maxLineBytes} is cut with a marker. When the queue
 * is full ({@link #QUEUE_BYTES}: the disk cannot keep up) or a write fails (the disk is full), lines are dropped
 * from this store and counted, and the writer goes on.
 */
public final class LogStore implements AutoCloseable {
    public static final Option<Integer> RETAIN_LINES = Option.integer("logs.retain-lines-per-function", 10_000, 100,
            10_000_000, "lines", "log lines kept per function; the oldest are deleted first");
    public static final Option<Integer> MAX_LINE_BYTES = Option.integer("logs.max-line-bytes", 8_192, 256, 262_144,
            "bytes", "longer log lines are cut, with a marker");

    private static final System.Logger LOG = System.getLogger(LogStore.class.getName());
    private static final int QUEUE = 65_536;
    /** What the queue in front of the writer may hold, bytes of messages: a flood waits on the disk, not the heap. */
    static final long QUEUE_BYTES = 8L << 20;
    private static final int BATCH = 2_048;
    /** How long the writer waits after a failed write (a full disk) before it tries again. */
    private static final long RETRY_MS = 500;
    /** How long the writer gathers lines after the first of a batch before it writes them. */
    static final long LINGER_MS = 20;
    /** How long a query waits for the lines queued before it to be stored. */
    private static final long READ_WAIT_MS = 200;

    private final Database database;
    private final int retainLines;
    private final int maxLineBytes;
    private final BlockingQueue<LogEvent> queue = new ArrayBlockingQueue<>(QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong enqueued = new AtomicLong();
    private final AtomicLong queuedBytes = new AtomicLong();
    /** Flushes asked for: one ends the writer's gathering window. */
    private final AtomicLong flushes = new AtomicLong();
    /** The last write's failure, or null when the last write succeeded. */
    private volatile String lastError;
    private final ReentrantLock flushLock = new ReentrantLock();
    private final Condition flushed = flushLock.newCondition();
    private final Thread writer;
    private long written;
    /** Lines written per function since it was last pruned; only the writer thread touches it. */
    private final java.util.Map<String, Integer> sincePrune = new java.util.HashMap<>();
    private volatile boolean closing;

    /** Where every line also goes (the telemetry outbox); it may wait briefly, never on the network. */
    private final java.util.function.Consumer<LogEvent> forward;

    private LogStore(Database database, int retainLines, int maxLineBytes,
                     java.util.function.Consumer<LogEvent> forward) {
        this.database = database;
        this.forward = forward;
        this.retainLines = retainLines;
        this.maxLineBytes = maxLineBytes;
        this.writer = Thread.ofPlatform().name("bramble-log-writer").daemon(true).unstarted(this::drain);
    }

    public static LogStore start(Database database, int retainLines, int maxLineBytes) {
        return start(database, retainLines, maxLineBytes, e -> { });
    }

    /**
     * Starts the store; every line is also handed to {@code forward} as it is appended, in the order appended (the
     * telemetry outbox, which waits at most 100 ms, and only when a burst outruns its disk).
     */
    public static LogStore start(Database database, int retainLines, int maxLineBytes,
                                 java.util.function.Consumer<LogEvent> forward) {
        LogStore store = new LogStore(database, retainLines, maxLineBytes, forward);
        store.writer.start();
        return store;
    }

    /** Queues a line. The local store never blocks; the forward may, briefly (see {@link #start}). */
    public void append(String function, String stream, String requestId, long epochMs, String message) {
        LogEvent event = new LogEvent(0, function, stream, requestId, epochMs, cut(message));
        forward.accept(event);
        long size = event.message().length();
        if (queuedBytes.addAndGet(size) > QUEUE_BYTES || !queue.offer(event)) {
            queuedBytes.addAndGet(-size);
            dropped.incrementAndGet();
        } else {
            enqueued.incrementAndGet();
        }
    }

    /** Why the last write failed (a full disk, say), or empty when it succeeded. */
    public java.util.Optional<String> lastError() {
        return java.util.Optional.ofNullable(lastError);
    }

    /** The longest line kept whole, bytes; a longer one is cut with a marker. */
    public int maxLineBytes() {
        return maxLineBytes;
    }

    /** Lines dropped: the writer could not keep up, or could not write (a full disk). */
    public long dropped() {
        return dropped.get();
    }

    /** Waits until every line queued so far is stored, or the timeout passes. */
    public boolean flush(long timeoutMs) throws InterruptedException {
        long target = enqueued.get();
        flushes.incrementAndGet();
        LockSupport.unpark(writer); // ends its gathering window at once
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        flushLock.lock();
        try {
            while (written < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                flushed.awaitNanos(left);
            }
            return true;
        } finally {
            flushLock.unlock();
        }
    }

    /**
     * Lines of a function, oldest first, from {@code sinceMs} (inclusive) and after id {@code afterId}.
     *
     * @param stream only this stream, or null for all
     */
    public List<LogEvent> query(String function, long sinceMs, long afterId, String stream, int limit) {
        return query(function, sinceMs, afterId, stream, limit, false);
    }

    /** The newest {@code limit} lines of a function, oldest first: where a console starts before it follows. */
    public List<LogEvent> tail(String function, String stream, int limit) {
        return query(function, 0, 0, stream, limit, true).reversed();
    }

    private List<LogEvent> query(String function, long sinceMs, long afterId, String stream, int limit,
                                 boolean newest) {
        String sql = "SELECT id, stream, request_id, ts, message FROM log_events WHERE function = ? AND ts >= ? "
                + "AND id > ?" + (stream == null ? "" : " AND stream = ?") + " ORDER BY id" + (newest ? " DESC" : "")
                + " LIMIT ?";
        try {
            flush(READ_WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<LogEvent> out = new ArrayList<>();
        try (Connection c = database.connect(); PreparedStatement s = c.prepareStatement(sql)) {
            int i = 1;
            s.setString(i++, function);
            s.setLong(i++, sinceMs);
            s.setLong(i++, afterId);
            if (stream != null) {
                s.setString(i++, stream);
            }
            s.setInt(i, limit);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    out.add(new LogEvent(rs.getLong(1), function, rs.getString(2), rs.getString(3), rs.getLong(4),
                            rs.getString(5)));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("log query failed: " + e.getMessage(), e);
        }
        return out;
    }

    private String cut(String message) {
        if (message.length() * 3 <= maxLineBytes) {
            return message;
        }
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= maxLineBytes) {
            return message;
        }
        String marker = " …[cut " + (bytes.length - maxLineBytes) + " bytes]";
        return new String(bytes, 0, maxLineBytes, StandardCharsets.UTF_8) + marker;
    }

    /**
     * The writer: batches of queued lines, one transaction each. A batch that cannot be written (a full disk, a
     * broken connection) is dropped and counted, the connection opened anew, and writing goes on once the disk
     * takes it again; the writer never ends before the store closes.
     */
    private void drain() {
        List<LogEvent> batch = new ArrayList<>(BATCH);
        Connection c = null;
        PreparedStatement insert = null; // prepared once per connection
        while (!closing || !queue.isEmpty()) {
            try {
                LogEvent first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                gather();
                queue.drainTo(batch, BATCH - 1);
                long bytes = 0;
                for (LogEvent e : batch) {
                    bytes += e.message().length();
                }
                queuedBytes.addAndGet(-bytes);
                try {
                    if (c == null) {
                        c = database.connect();
                        c.setAutoCommit(false);
                        insert = c.prepareStatement(INSERT);
                    }
                    write(c, insert, batch);
                    if (lastError != null) {
                        LOG.log(Level.INFO, "logs.write-recovered dropped={0}", dropped.get());
                        lastError = null;
                    }
                } catch (SQLException e) {
                    dropped.addAndGet(batch.size());
                    if (lastError == null) {
                        LOG.log(Level.ERROR, "logs.write-failed lines={0} error={1}", batch.size(), e.toString());
                    }
                    lastError = e.getMessage();
                    c = reset(c);
                    if (!closing) {
                        Thread.sleep(RETRY_MS);
                    }
                }
                flushLock.lock();
                try {
                    written += batch.size();
                    flushed.signalAll();
                } finally {
                    flushLock.unlock();
                }
                batch.clear();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        reset(c);
    }

    /**
     * Waits out the gathering window, unless a batch is already full, a flush asks, or the store closes. Parked, not
     * polling: lines appended meanwhile only go into the queue, and wake no one.
     */
    private void gather() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MS);
        long asked = flushes.get();
        while (!closing && queue.size() < BATCH - 1 && flushes.get() == asked) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            LockSupport.parkNanos(this, left);
        }
    }

    /** Closes a connection a failed write may have left in any state; the next batch opens a new one. */
    private static Connection reset(Connection c) {
        if (c != null) {
            try {
                c.rollback();
            } catch (SQLException alreadyRolledBack) {
                // SQLite rolls a transaction back itself when the disk is full
            }
            try {
                c.close();
            } catch (SQLException e) {
                // nothing more to do with it
            }
        }
        return null;
    }

    private static final String INSERT =
            "INSERT INTO log_events (function, stream, request_id, ts, message) VALUES (?, ?, ?, ?, ?)";

    private void write(Connection c, PreparedStatement insert, List<LogEvent> batch) throws SQLException {
        Set<String> touched = new HashSet<>();
        for (LogEvent e : batch) {
            insert.setString(1, e.function());
            insert.setString(2, e.stream());
            insert.setString(3, e.requestId());
            insert.setLong(4, e.epochMs());
            insert.setString(5, e.message());
            insert.addBatch();
            if (sincePrune.merge(e.function(), 1, Integer::sum) >= Math.max(1, retainLines / 20)) {
                touched.add(e.function());
            }
        }
        insert.executeBatch();
        if (touched.isEmpty()) {
            c.commit();
            return;
        }
        try (PreparedStatement prune = c.prepareStatement("DELETE FROM log_events WHERE function = ? AND id <= "
                + "(SELECT id FROM log_events WHERE function = ? ORDER BY id DESC LIMIT 1 OFFSET ?)")) {
            // Pruning walks the newest retainLines rows: it is done once a twentieth of them is new, not every batch.
            for (String f : touched) {
                sincePrune.put(f, 0);
                prune.setString(1, f);
                prune.setString(2, f);
                prune.setInt(3, retainLines);
                prune.executeUpdate();
            }
        }
        c.commit();
    }

    /** Stores what is queued, then stops the writer. */
    @Override
    public void close() {
        closing = true;
        LockSupport.unpark(writer);
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
