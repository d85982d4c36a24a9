package dev.bramble.daemon.async;

import dev.bramble.daemon.config.Option;
import dev.bramble.daemon.invoke.LambdaErrors;
import dev.bramble.daemon.env.ThrottledException;
import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.function.NotFoundException;
import dev.bramble.daemon.invoke.InvokeRequest;
import dev.bramble.daemon.invoke.InvokeResult;
import dev.bramble.daemon.invoke.Invoker;
import dev.bramble.daemon.store.Database;
import dev.bramble.protocol.AsyncPolicy;

import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Asynchronous invocations, durable in SQLite: an event is stored (synchronously, {@code synchronous=FULL}) before
 * its caller is told it was accepted, runs from the queue, and its row is deleted only when it succeeded or moved
 * to the dead letters. A daemon killed mid-run runs it again after restart: delivery is at least once, and the
 * request id is the same on every attempt.
 *
 * <p>Failed attempts are retried after an exponential backoff with jitter (base, twice the base, …, each ±20 %), as
 * often as the function's {@link AsyncPolicy} allows and while the event is younger than its maximum age; then the
 * event moves to the dead letters and the {@link Listener} hears of it. A throttled attempt is not a failure: it is
 * tried again a second later.
 */
public final class AsyncQueue implements AutoCloseable {
    public static final Option<Integer> MAX_DEPTH = Option.integer("async.max-depth", 10_000, 1, 1_000_000, "",
            "asynchronous invocations queued at most; beyond it Event invokes get 429 and MQTT waits");
    public static final Option<Integer> WORKERS = Option.integer("async.workers", 8, 1, 256, "",
            "asynchronous invocations run at once");
    public static final Option<Integer> RETRY_BASE = Option.integer("async.retry-base-ms", 60_000, 10, 3_600_000, "ms",
            "wait before the first retry of a failed asynchronous invocation; doubled for the second");

    private static final System.Logger LOG = System.getLogger(AsyncQueue.class.getName());
    private static final int MAX_ERROR_CHARS = 4_096;
    private static final Duration THROTTLED_DELAY = Duration.ofSeconds(1);
    private static final long MAX_SLEEP_MS = 1_000;

    /**
     * Limits.
     *
     * @param maxDepth  invocations the queue holds at most; more are refused
     * @param workers   invocations run at once from the queue
     * @param retryBase delay before the first retry; each further retry waits twice as long
     */
    public record Settings(int maxDepth, int workers, Duration retryBase) {
    }

    /** What happens to queued invocations, for replies, destinations and counters. Called on a worker thread. */
    public interface Listener {
        /** One attempt ran; {@code failed} when the function failed. */
        default void attempted(Job job, boolean failed) {
        }

        /** The invocation succeeded; its row is gone. */
        default void succeeded(Job job, InvokeResult result, AsyncPolicy policy) {
        }

        /** The invocation moved to the dead letters. */
        default void deadLettered(DeadLetter letter, AsyncPolicy policy) {
        }
    }

    private final Connection connection;
    private final Invoker invoker;
    private final Clock clock;
    private final Settings settings;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Set<Long> inFlight = new HashSet<>();
    private final ExecutorService runners = Executors.newVirtualThreadPerTaskExecutor();
    private final Thread dispatcher;
    private final AtomicLong enqueued = new AtomicLong();
    private final AtomicLong succeeded = new AtomicLong();
    private final AtomicLong retried = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private volatile Listener listener = new Listener() {
    };
    private int depth;
    private boolean closed;

    private AsyncQueue(Connection connection, Invoker invoker, Clock clock, Settings settings, int depth) {
        this.connection = connection;
        this.invoker = invoker;
        this.clock = clock;
        this.settings = settings;
        this.depth = depth;
        this.dispatcher = Thread.ofPlatform().name("bramble-async").daemon(true).unstarted(this::dispatch);
    }

    /**
     * Opens the queue on the state database. It runs nothing, what a crash left included, until
     * {@link #startDispatching}: the outcomes of what it holds (an MQTT reply, a destination record) go to the
     * {@link #listener}, which must be set first.
     */
    public static AsyncQueue start(Database database, Invoker invoker, Clock clock, Settings settings) {
        try {
            Connection c = database.connect();
            try (Statement s = c.createStatement()) {
                // An accepted event must survive power loss, not only a crash: the commit waits for the disk.
                s.execute("PRAGMA synchronous = FULL");
                ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM async_queue");
                AsyncQueue q = new AsyncQueue(c, invoker, clock, settings, rs.getInt(1));
                if (q.depth > 0) {
                    LOG.log(Level.INFO, "async.resumed queued={0}", q.depth);
                }
                return q;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot open the asynchronous queue: " + e.getMessage(), e);
        }
    }

    /**
     * Starts running what the queue holds and what comes. (With the dispatcher started on opening, a job resumed
     * after a crash could end before the triggers had registered as listener, and its MQTT reply was never sent.)
     */
    public void startDispatching() {
        dispatcher.start();
    }

    /** Sets who hears of outcomes; before {@link #startDispatching}. */
    public void listener(Listener listener) {
        this.listener = listener;
    }

    /**
     * One invocation to queue.
     *
     * @param requestId the request id it will keep
     * @param function  the function
     * @param qualifier version or alias, or null for {@code live}
     * @param source    {@code invoke} or the trigger's id
     * @param payload   the event, JSON
     * @param reply     the trigger's reply route as JSON, or null
     */
    public record Entry(String requestId, String function, String qualifier, String source, byte[] payload,
                        String reply) {
    }

    /**
     * Stores invocations in one transaction; when this returns they are on disk and will run.
     *
     * @throws QueueFullException when they do not fit; none is stored
     */
    public void enqueue(List<Entry> entries) {
        if (entries.isEmpty()) {
            return;
        }
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("the asynchronous queue is closed");
            }
            if (depth + entries.size() > settings.maxDepth()) {
                rejected.addAndGet(entries.size());
                throw new QueueFullException("the asynchronous queue holds " + depth + " invocations, its limit ("
                        + settings.maxDepth() + ", async.max-depth); try again later");
            }
            long now = clock.millis();
            transaction(() -> {
                try (PreparedStatement s = connection.prepareStatement("INSERT INTO async_queue (request_id, "
                        + "function, qualifier, source, payload, reply, enqueued_at, next_at) VALUES (?, ?, ?, ?, ?, "
                        + "?, ?, ?)")) {
                    for (Entry e : entries) {
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
            });
            depth += entries.size();
            enqueued.addAndGet(entries.size());
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Invocations queued or running with this source; how a schedule knows its previous run has not ended. */
    public int pending(String source) {
        lock.lock();
        try {
            try (PreparedStatement s = connection.prepareStatement("SELECT COUNT(*) FROM async_queue WHERE source = ?")) {
                s.setString(1, source);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.getInt(1);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("asynchronous queue read failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    private void dispatch() {
        while (true) {
            List<Job> due;
            lock.lock();
            try {
                if (closed) {
                    return;
                }
                int free = settings.workers() - inFlight.size();
                long now = clock.millis();
                due = free <= 0 ? List.of() : due(now, free);
                if (due.isEmpty()) {
                    long next = free <= 0 ? now + MAX_SLEEP_MS : nextDue();
                    long sleep = Math.min(MAX_SLEEP_MS, Math.max(1, next - now));
                    changed.await(sleep, TimeUnit.MILLISECONDS);
                    continue;
                }
                due.forEach(j -> inFlight.add(j.id()));
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "async.dispatch-failed error={0}", e.toString());
                sleepQuietly();
                continue;
            } finally {
                lock.unlock();
            }
            for (Job j : due) {
                runners.execute(() -> run(j));
            }
        }
    }

    private List<Job> due(long now, int limit) {
        List<Job> out = new ArrayList<>();
        try (PreparedStatement s = connection.prepareStatement("SELECT id, request_id, function, qualifier, source, "
                + "payload, reply, enqueued_at, attempts, last_error FROM async_queue WHERE next_at <= ? "
                + "ORDER BY next_at, id LIMIT ?")) {
            s.setLong(1, now);
            s.setInt(2, limit + inFlight.size());
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next() && out.size() < limit) {
                    if (!inFlight.contains(rs.getLong(1))) {
                        out.add(new Job(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), rs.getBytes(6), rs.getString(7),
                                Instant.ofEpochMilli(rs.getLong(8)), rs.getInt(9), rs.getString(10)));
                    }
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("asynchronous queue read failed: " + e.getMessage(), e);
        }
        return out;
    }

    private long nextDue() {
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT MIN(next_at) FROM async_queue")) {
            long next = rs.getLong(1);
            return rs.wasNull() ? Long.MAX_VALUE : next;
        } catch (SQLException e) {
            throw new IllegalStateException("asynchronous queue read failed: " + e.getMessage(), e);
        }
    }

    private void run(Job job) {
        try {
            attempt(job);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "async.run-failed request={0} function={1} error={2}", job.requestId(),
                    job.function(), e.toString());
        } finally {
            lock.lock();
            try {
                inFlight.remove(job.id());
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private void attempt(Job job) {
        FunctionVersion v;
        try {
            v = invoker.resolve(job.function(), job.qualifier());
        } catch (NotFoundException e) {
            deadLetter(job, DeadLetter.Reason.FUNCTION_NOT_FOUND, e.getMessage(), job.attempts(), AsyncPolicy.DEFAULT);
            return;
        }
        AsyncPolicy policy = v.manifest().async();
        Instant now = clock.instant();
        Instant expires = job.enqueuedAt().plus(policy.maxEventAge());
        if (!now.isBefore(expires)) {
            deadLetter(job, DeadLetter.Reason.EVENT_AGE_EXCEEDED, job.lastError(), job.attempts(), policy);
            return;
        }
        InvokeResult result;
        String error;
        try {
            result = invoker.invoke(new InvokeRequest(job.function(), job.qualifier(), job.payload(), "",
                    job.requestId(), false));
            error = result.error() ? new String(result.payload(), StandardCharsets.UTF_8) : null;
        } catch (ThrottledException e) {
            reschedule(job, job.attempts(), job.lastError(), clock.instant().plus(THROTTLED_DELAY));
            return;
        } catch (NotFoundException e) {
            deadLetter(job, DeadLetter.Reason.FUNCTION_NOT_FOUND, e.getMessage(), job.attempts(), policy);
            return;
        } catch (RuntimeException e) {
            result = null;
            error = new String(LambdaErrors.json("Bramble.InvokeFailed", e.toString()), StandardCharsets.UTF_8);
        }
        if (isClosed()) {
            return; // the daemon is stopping and the environment with it: the row stays, to run after restart
        }
        listener.attempted(job, error != null);
        if (error == null) {
            delete(job);
            succeeded.incrementAndGet();
            listener.succeeded(job, result, policy);
            return;
        }
        int attempts = job.attempts() + 1;
        if (attempts > policy.maxRetries()) {
            deadLetter(job, DeadLetter.Reason.RETRIES_EXHAUSTED, error, attempts, policy);
            return;
        }
        Instant next = clock.instant().plus(backoff(attempts));
        if (!next.isBefore(expires)) {
            deadLetter(job, DeadLetter.Reason.EVENT_AGE_EXCEEDED, error, attempts, policy);
            return;
        }
        retried.incrementAndGet();
        LOG.log(Level.INFO, "async.retry request={0} function={1} attempt={2} at={3}", job.requestId(),
                job.function(), attempts + 1, next);
        reschedule(job, attempts, error, next);
    }

    /** The wait before retry number {@code retry} (from 1): base × 2^(retry−1), ±20 %. */
    Duration backoff(int retry) {
        long base = settings.retryBase().toMillis() << Math.min(retry - 1, 16);
        return Duration.ofMillis((long) (base * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble())));
    }

    private void reschedule(Job job, int attempts, String error, Instant next) {
        lock.lock();
        try {
            transaction(() -> {
                try (PreparedStatement s = connection.prepareStatement(
                        "UPDATE async_queue SET attempts = ?, last_error = ?, next_at = ? WHERE id = ?")) {
                    s.setInt(1, attempts);
                    s.setString(2, truncate(error));
                    s.setLong(3, next.toEpochMilli());
                    s.setLong(4, job.id());
                    s.executeUpdate();
                }
            });
        } finally {
            lock.unlock();
        }
    }

    private void delete(Job job) {
        lock.lock();
        try {
            transaction(() -> deleteRow(job.id()));
            depth--;
        } finally {
            lock.unlock();
        }
    }

    private void deleteRow(long id) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement("DELETE FROM async_queue WHERE id = ?")) {
            s.setLong(1, id);
            s.executeUpdate();
        }
    }

    private void deadLetter(Job job, DeadLetter.Reason reason, String error, int attempts, AsyncPolicy policy) {
        Instant now = clock.instant();
        long[] id = new long[1];
        lock.lock();
        try {
            transaction(() -> {
                try (PreparedStatement s = connection.prepareStatement("INSERT INTO dead_letters (request_id, "
                        + "function, qualifier, source, payload, reason, error, attempts, enqueued_at, failed_at) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                    s.setString(1, job.requestId());
                    s.setString(2, job.function());
                    s.setString(3, job.qualifier());
                    s.setString(4, job.source());
                    s.setBytes(5, job.payload());
                    s.setString(6, reason.json());
                    s.setString(7, truncate(error));
                    s.setInt(8, attempts);
                    s.setLong(9, job.enqueuedAt().toEpochMilli());
                    s.setLong(10, now.toEpochMilli());
                    s.executeUpdate();
                    try (ResultSet keys = s.getGeneratedKeys()) {
                        id[0] = keys.next() ? keys.getLong(1) : 0;
                    }
                }
                deleteRow(job.id());
            });
            depth--;
        } finally {
            lock.unlock();
        }
        deadLettered.incrementAndGet();
        LOG.log(Level.WARNING, "async.dead-letter request={0} function={1} reason={2} attempts={3}",
                job.requestId(), job.function(), reason.json(), attempts);
        listener.deadLettered(new DeadLetter(id[0], job.requestId(), job.function(), job.qualifier(), job.source(),
                job.payload(), reason, truncate(error), attempts, job.enqueuedAt(), now), policy);
    }

    /** Dead letters, newest first, optionally of one function, with ids below {@code before} (0: any). */
    public List<DeadLetter> deadLetters(String function, long before, int limit) {
        List<DeadLetter> out = new ArrayList<>();
        lock.lock();
        try (PreparedStatement s = connection.prepareStatement("SELECT id, request_id, function, qualifier, source, "
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
                            rs.getString(5), rs.getBytes(6), DeadLetter.Reason.of(rs.getString(7)), rs.getString(8),
                            rs.getInt(9), Instant.ofEpochMilli(rs.getLong(10)), Instant.ofEpochMilli(rs.getLong(11))));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("dead letters read failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
        return out;
    }

    /**
     * The queue for {@code /v1/status}.
     *
     * @param depth            invocations queued, running ones included
     * @param maxDepth         async.max-depth
     * @param oldestAgeSeconds how long the oldest has waited; 0 when none
     * @param running          invocations running now
     * @param deadLetters      dead letters stored
     * @param enqueued         counters since the daemon started, and the four that follow
     */
    public record Status(long depth, int maxDepth, long oldestAgeSeconds, int running, long deadLetters, long enqueued,
                         long succeeded, long retried, long deadLettered, long rejected) {
    }

    /** Depth, age, counters, for status. */
    public Status status() {
        lock.lock();
        try (Statement s = connection.createStatement()) {
            long oldest;
            try (ResultSet rs = s.executeQuery("SELECT MIN(enqueued_at) FROM async_queue")) {
                oldest = rs.getLong(1);
                oldest = rs.wasNull() ? -1 : oldest;
            }
            long letters;
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM dead_letters")) {
                letters = rs.getLong(1);
            }
            return new Status(depth, settings.maxDepth(), oldest < 0 ? 0 : Math.max(0, (clock.millis() - oldest) / 1000),
                    inFlight.size(), letters, enqueued.get(), succeeded.get(), retried.get(), deadLettered.get(),
                    rejected.get());
        } catch (SQLException e) {
            throw new IllegalStateException("asynchronous queue read failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * One function's share of the queue.
     *
     * @param depth         invocations waiting or running
     * @param oldestAgeMs   how long the oldest has waited, 0 when none
     * @param deadLetters   invocations that ended in the dead-letter store and are still kept
     */
    public record FunctionQueue(long depth, long oldestAgeMs, long deadLetters) {
    }

    /** Each function's share of the queue and of the dead letters. */
    public Map<String, FunctionQueue> byFunction() {
        Map<String, long[]> rows = new java.util.TreeMap<>();
        lock.lock();
        try (Statement s = connection.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT function, COUNT(*), MIN(enqueued_at) FROM async_queue "
                    + "GROUP BY function")) {
                while (rs.next()) {
                    long[] r = rows.computeIfAbsent(rs.getString(1), k -> new long[3]);
                    r[0] = rs.getLong(2);
                    r[1] = Math.max(0, clock.millis() - rs.getLong(3));
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT function, COUNT(*) FROM dead_letters GROUP BY function")) {
                while (rs.next()) {
                    rows.computeIfAbsent(rs.getString(1), k -> new long[3])[2] = rs.getLong(2);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("asynchronous queue read failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
        Map<String, FunctionQueue> out = new LinkedHashMap<>();
        rows.forEach((f, r) -> out.put(f, new FunctionQueue(r[0], r[1], r[2])));
        return out;
    }

    /** Invocations stored and not yet ended. */
    public int depth() {
        lock.lock();
        try {
            return depth;
        } finally {
            lock.unlock();
        }
    }

    private boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    @FunctionalInterface
    private interface SqlWork {
        void run() throws SQLException;
    }

    /** Runs under {@link #lock}: the connection is this class's alone and used by one thread at a time. */
    private void transaction(SqlWork work) {
        try {
            dev.bramble.daemon.store.Transactions.run(connection, work::run);
        } catch (SQLException e) {
            throw new IllegalStateException("asynchronous queue write failed: " + e.getMessage(), e);
        }
    }

    private static String truncate(String s) {
        return s == null || s.length() <= MAX_ERROR_CHARS ? s : s.substring(0, MAX_ERROR_CHARS);
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(MAX_SLEEP_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops dispatching; running invocations keep their rows and run again after a restart if they do not end. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            dispatcher.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        runners.shutdown();
        lock.lock();
        try {
            connection.close();
        } catch (SQLException e) {
            LOG.log(Level.WARNING, "async.close-failed error={0}", e.toString());
        } finally {
            lock.unlock();
        }
    }
}
