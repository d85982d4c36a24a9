package dev.bramble.daemon.async;

import dev.bramble.daemon.store.Database;
import dev.bramble.daemon.store.Transactions;
import dev.bramble.daemon.work.Worker;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The queue in the state database's {@code async_queue} and {@code dead_letters} tables, with one writer. Every
 * change is handed to a platform thread that owns the writing connection ({@code synchronous=FULL}: a write
 * returns once it is on the disk) and commits what has gathered in one transaction, so that concurrent enqueues
 * share one disk flush, and the caller, often a virtual thread, parks instead of pinning its carrier through the
 * flush (docs/decisions/0006). When a shared transaction fails, each of its writes is tried alone, so that one bad
 * write fails only its own caller. Reads use a second connection, which WAL lets run beside the writer.
 */
final class SqliteQueueStore implements QueueStore {
    /** Writes committed in one transaction at most. */
    static final int BATCH = 256;
    private static final int MAX_ERROR_CHARS = 4_096;
    private static final Duration IDLE = Duration.ofMinutes(1);
    private static final String JOB_COLUMNS = "id, request_id, function, qualifier, source, payload, reply, "
            + "enqueued_at, attempts, last_error";

    private final Connection writer;
    private final Connection reader;
    private final ReentrantLock readLock = new ReentrantLock();
    private final ReentrantLock writesLock = new ReentrantLock();
    private final ArrayDeque<Write<?>> writes = new ArrayDeque<>();
    private final AtomicLong commits = new AtomicLong();
    private final Worker worker;
    private boolean closed;

    private record Write<T>(Database.Work<T> work, CompletableFuture<T> done) {
        void complete(Object result) {
            @SuppressWarnings("unchecked")
            T t = (T) result;
            done.complete(t);
        }
    }

    private SqliteQueueStore(Connection writer, Connection reader) {
        this.writer = writer;
        this.reader = reader;
        this.worker = Worker.start("bramble-async-writer", this::writeGathered);
    }

    /** Opens the queue's tables on the state database, with a writing and a reading connection of its own. */
    static SqliteQueueStore open(Database database) {
        Connection writer = null;
        try {
            writer = database.connect();
            try (Statement s = writer.createStatement()) {
                // An accepted event must survive power loss, not only a crash: the commit waits for the disk.
                s.execute("PRAGMA synchronous = FULL");
            }
            return new SqliteQueueStore(writer, database.connect());
        } catch (SQLException e) {
            closeQuietly(writer);
            throw new IllegalStateException("cannot open the asynchronous queue: " + e.getMessage(), e);
        }
    }

    @Override
    public void add(List<AsyncQueue.Entry> entries, long now) {
        write(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO async_queue (request_id, function, qualifier, "
                    + "source, payload, reply, enqueued_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (AsyncQueue.Entry e : entries) {
                    s.setString(1, e.requestId());
                    s.setString(2, e.function());
                    s.setString(3, e.qualifier());
                    s.setString(4, e.source());
                    s.setBytes(5, e.payload());
                    s.setString(6, e.reply());
                    s.setLong(7, now);
                    s.setLong(8, now);
                    s.addBatch();
                }
                s.executeBatch();
            }
            return null;
        });
    }

    @Override
    public void retryAt(long id, int attempts, String error, long at) {
        write(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "UPDATE async_queue SET attempts = ?, last_error = ?, next_at = ? WHERE id = ?")) {
                s.setInt(1, attempts);
                s.setString(2, truncate(error));
                s.setLong(3, at);
                s.setLong(4, id);
                s.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void remove(long id) {
        write(c -> {
            removeRow(c, id);
            return null;
        });
    }

    @Override
    public DeadLetter deadLetter(Job job, DeadLetter.Reason reason, String error, int attempts, long now) {
        long id = write(c -> {
            long letter;
            try (PreparedStatement s = c.prepareStatement("INSERT INTO dead_letters (request_id, function, qualifier, "
                    + "source, payload, reason, error, attempts, enqueued_at, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                    + "?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                s.setString(1, job.requestId());
                s.setString(2, job.function());
                s.setString(3, job.qualifier());
                s.setString(4, job.source());
                s.setBytes(5, job.payload());
                s.setString(6, reason.json());
                s.setString(7, truncate(error));
                s.setInt(8, attempts);
                s.setLong(9, job.enqueuedAt().toEpochMilli());
                s.setLong(10, now);
                s.executeUpdate();
                try (ResultSet keys = s.getGeneratedKeys()) {
                    letter = keys.next() ? keys.getLong(1) : 0;
                }
            }
            removeRow(c, job.id());
            return letter;
        });
        return new DeadLetter(id, job.requestId(), job.function(), job.qualifier(), job.source(), job.payload(),
                reason, truncate(error), attempts, job.enqueuedAt(), Instant.ofEpochMilli(now));
    }

    private static void removeRow(Connection c, long id) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("DELETE FROM async_queue WHERE id = ?")) {
            s.setLong(1, id);
            s.executeUpdate();
        }
    }

    @Override
    public List<Job> due(long now, int limit, Set<Long> skip) {
        return read(c -> {
            List<Job> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("SELECT " + JOB_COLUMNS + " FROM async_queue "
                    + "WHERE next_at <= ? ORDER BY next_at, id LIMIT ?")) {
                s.setLong(1, now);
                s.setInt(2, limit + skip.size());
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next() && out.size() < limit) {
                        if (!skip.contains(rs.getLong(1))) {
                            out.add(new Job(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                                    rs.getString(5), rs.getBytes(6), rs.getString(7),
                                    Instant.ofEpochMilli(rs.getLong(8)), rs.getInt(9), rs.getString(10)));
                        }
                    }
                }
            }
            return out;
        });
    }

    @Override
    public long nextDue() {
        return read(c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT MIN(next_at) FROM async_queue")) {
                long next = rs.getLong(1);
                return rs.wasNull() ? Long.MAX_VALUE : next;
            }
        });
    }

    @Override
    public List<DeadLetter> deadLetters(String function, long before, int limit) {
        return read(c -> {
            List<DeadLetter> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement("SELECT id, request_id, function, qualifier, source, "
                    + "payload, reason, error, attempts, enqueued_at, failed_at FROM dead_letters WHERE (? IS NULL OR "
                    + "function = ?) AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?")) {
                s.setString(1, function);
                s.setString(2, function);
                s.setLong(3, before);
                s.setLong(4, before);
                s.setInt(5, limit);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        out.add(new DeadLetter(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), rs.getBytes(6), DeadLetter.Reason.of(rs.getString(7)),
                                rs.getString(8), rs.getInt(9), Instant.ofEpochMilli(rs.getLong(10)),
                                Instant.ofEpochMilli(rs.getLong(11))));
                    }
                }
            }
            return out;
        });
    }

    @Override
    public int count() {
        return read(c -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM async_queue")) {
                return rs.getInt(1);
            }
        });
    }

    @Override
    public int pending(String source) {
        return read(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*) FROM async_queue WHERE source = ?")) {
                s.setString(1, source);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.getInt(1);
                }
            }
        });
    }

    @Override
    public Summary summary() {
        return read(c -> {
            try (Statement s = c.createStatement()) {
                long oldest;
                try (ResultSet rs = s.executeQuery("SELECT MIN(enqueued_at) FROM async_queue")) {
                    oldest = rs.getLong(1);
                }
                try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM dead_letters")) {
                    return new Summary(oldest, rs.getLong(1));
                }
            }
        });
    }

    @Override
    public Map<String, AsyncQueue.FunctionQueue> byFunction(long now) {
        Map<String, long[]> rows = read(c -> {
            Map<String, long[]> out = new TreeMap<>();
            try (Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("SELECT function, COUNT(*), MIN(enqueued_at) FROM async_queue "
                        + "GROUP BY function")) {
                    while (rs.next()) {
                        long[] r = out.computeIfAbsent(rs.getString(1), k -> new long[3]);
                        r[0] = rs.getLong(2);
                        r[1] = Math.max(0, now - rs.getLong(3));
                    }
                }
                try (ResultSet rs = s.executeQuery("SELECT function, COUNT(*) FROM dead_letters GROUP BY function")) {
                    while (rs.next()) {
                        out.computeIfAbsent(rs.getString(1), k -> new long[3])[2] = rs.getLong(2);
                    }
                }
            }
            return out;
        });
        Map<String, AsyncQueue.FunctionQueue> out = new LinkedHashMap<>();
        rows.forEach((f, r) -> out.put(f, new AsyncQueue.FunctionQueue(r[0], r[1], r[2])));
        return out;
    }

    private <T> T read(Database.Work<T> work) {
        readLock.lock();
        try {
            return work.run(reader);
        } catch (SQLException e) {
            throw new IllegalStateException("asynchronous queue read failed: " + e.getMessage(), e);
        } finally {
            readLock.unlock();
        }
    }

    /**
     * Hands {@code work} to the writer and waits until it is committed; package-private so that a test can hold the
     * writer with a write of its own.
     */
    <T> T write(Database.Work<T> work) {
        Write<T> w = new Write<>(work, new CompletableFuture<>());
        writesLock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the asynchronous queue is closed");
            }
            writes.add(w);
        } finally {
            writesLock.unlock();
        }
        worker.wake();
        try {
            return w.done().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /** Writes waiting for the writer. */
    int waiting() {
        writesLock.lock();
        try {
            return writes.size();
        } finally {
            writesLock.unlock();
        }
    }

    /** Transactions committed so far. */
    long commits() {
        return commits.get();
    }

    /** The writer's step: commits what has gathered, up to {@link #BATCH} writes, in one transaction. */
    private Duration writeGathered() {
        List<Write<?>> batch = new ArrayList<>();
        writesLock.lock();
        try {
            while (!writes.isEmpty() && batch.size() < BATCH) {
                batch.add(writes.poll());
            }
        } finally {
            writesLock.unlock();
        }
        if (batch.isEmpty()) {
            return IDLE;
        }
        if (!commit(batch) && batch.size() > 1) {
            for (Write<?> w : batch) {
                commit(List.of(w));
            }
        }
        // Writes that came during the commit woke the worker, which then does not sleep.
        return IDLE;
    }

    /** One transaction for {@code batch}; completes each write when it committed, or fails a lone one. */
    private boolean commit(List<Write<?>> batch) {
        Object[] results = new Object[batch.size()];
        try {
            Transactions.run(writer, () -> {
                for (int i = 0; i < batch.size(); i++) {
                    results[i] = batch.get(i).work().run(writer);
                }
            });
        } catch (SQLException | RuntimeException | Error e) {
            // An Error too: a writer that died would leave every later caller waiting for ever.
            if (batch.size() == 1) {
                batch.get(0).done().completeExceptionally(new IllegalStateException(
                        "asynchronous queue write failed: " + e.getMessage(), e));
            }
            return false;
        }
        commits.incrementAndGet();
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).complete(results[i]);
        }
        return true;
    }

    private static String truncate(String s) {
        return s == null || s.length() <= MAX_ERROR_CHARS ? s : s.substring(0, MAX_ERROR_CHARS);
    }

    /** Refuses new writes, lets the writer finish the one under way, fails those still waiting. */
    @Override
    public void close() {
        writesLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            writesLock.unlock();
        }
        worker.close();
        writesLock.lock();
        try {
            for (Write<?> w : writes) {
                w.done().completeExceptionally(new IllegalStateException("the asynchronous queue is closed"));
            }
            writes.clear();
        } finally {
            writesLock.unlock();
        }
        closeQuietly(writer);
        readLock.lock();
        try {
            closeQuietly(reader);
        } finally {
            readLock.unlock();
        }
    }

    private static void closeQuietly(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException e) {
            System.getLogger(SqliteQueueStore.class.getName()).log(System.Logger.Level.WARNING,
                    "async.close-failed error={0}", e.toString());
        }
    }
}
