package dev.bramble.daemon.async;

import dev.bramble.daemon.config.Option;
import dev.bramble.daemon.env.ThrottledException;
import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.function.NotFoundException;
import dev.bramble.daemon.invoke.InvokeRequest;
import dev.bramble.daemon.invoke.InvokeResult;
import dev.bramble.daemon.invoke.Invoker;
import dev.bramble.daemon.invoke.LambdaErrors;
import dev.bramble.daemon.store.Database;
import dev.bramble.daemon.work.Worker;
import dev.bramble.protocol.AsyncPolicy;

import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Asynchronous invocations, durable: an event is stored ({@link QueueStore}, on the disk) before its caller is told
 * it was accepted, runs from the queue, and leaves it only when it succeeded or moved to the dead letters. A daemon
 * killed mid-run runs it again after restart: delivery is at least once, and the request id is the same on every
 * attempt.
 *
 * <p>This class coordinates: it counts what is stored and what runs, dispatches due jobs to virtual threads (at
 * most {@link Settings#workers} at once) from a {@link Worker}, and carries out what {@link Retries} decides after
 * each attempt; the {@link Listener} hears of outcomes.
 */
public final class AsyncQueue implements AutoCloseable {
    public static final Option<Integer> MAX_DEPTH = Option.integer("async.max-depth", 10_000, 1, 1_000_000, "",
            "asynchronous invocations queued at most; beyond it Event invokes get 429 and MQTT waits");
    public static final Option<Integer> WORKERS = Option.integer("async.workers", 8, 1, 256, "",
            "asynchronous invocations run at once");
    public static final Option<Integer> RETRY_BASE = Option.integer("async.retry-base-ms", 60_000, 10, 3_600_000, "ms",
            "wait before the first retry of a failed asynchronous invocation; doubled for the second");

    private static final System.Logger LOG = System.getLogger(AsyncQueue.class.getName());
    /** The dispatcher looks at the store at least this often, for jobs whose retry time came. */
    private static final Duration MAX_SLEEP = Duration.ofSeconds(1);

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

    private final QueueStore store;
    private final Retries retries;
    private final Invoker invoker;
    private final Clock clock;
    private final Settings settings;
    private final ReentrantLock lock = new ReentrantLock();
    /** Jobs running now, by id; added by the dispatcher only. */
    private final Set<Long> inFlight = new HashSet<>();
    private final ExecutorService runners = Executors.newVirtualThreadPerTaskExecutor();
    private final AtomicLong enqueued = new AtomicLong();
    private final AtomicLong succeeded = new AtomicLong();
    private final AtomicLong retried = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private volatile Listener listener = new Listener() {
    };
    private final Worker dispatcher = Worker.unstarted("bramble-async", this::dispatch);
    /** Jobs stored, and those being stored; guarded by {@link #lock}. */
    private int depth;
    private boolean closed;

    AsyncQueue(QueueStore store, Retries retries, Invoker invoker, Clock clock, Settings settings) {
        this.store = store;
        this.retries = retries;
        this.invoker = invoker;
        this.clock = clock;
        this.settings = settings;
        this.depth = store.count();
    }

    /**
     * Opens the queue on the state database. It runs nothing, what a crash left included, until
     * {@link #startDispatching}: the outcomes of what it holds (an MQTT reply, a destination record) go to the
     * {@link #listener}, which must be set first.
     */
    public static AsyncQueue start(Database database, Invoker invoker, Clock clock, Settings settings) {
        QueueStore store = SqliteQueueStore.open(database);
        try {
            AsyncQueue q = new AsyncQueue(store, new Retries(settings.retryBase(),
                    () -> ThreadLocalRandom.current().nextDouble()), invoker, clock, settings);
            if (q.depth > 0) {
                LOG.log(Level.INFO, "async.resumed queued={0}", q.depth);
            }
            return q;
        } catch (RuntimeException e) {
            store.close();
            throw e;
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
     * Stores invocations in one transaction; when this returns they are on disk and will run. Room is taken under
     * the lock and the write done outside it, so that concurrent callers share the store's disk flush.
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
            depth += entries.size();
        } finally {
            lock.unlock();
        }
        try {
            store.add(entries, clock.millis());
        } catch (RuntimeException e) {
            changeDepth(-entries.size());
            throw e;
        }
        enqueued.addAndGet(entries.size());
        wake();
    }

    /** Invocations queued or running with this source; how a schedule knows its previous run has not ended. */
    public int pending(String source) {
        return store.pending(source);
    }

    /** The dispatcher's step: starts what is due and fits, and says how long nothing will be. */
    private Duration dispatch() {
        Set<Long> running;
        lock.lock();
        try {
            if (closed || inFlight.size() >= settings.workers()) {
                return MAX_SLEEP; // a run that ends wakes it
            }
            running = Set.copyOf(inFlight);
        } finally {
            lock.unlock();
        }
        // Outside the lock: only this thread adds to inFlight, and a run leaves it only after its row changed.
        long now = clock.millis();
        List<Job> due = store.due(now, settings.workers() - running.size(), running);
        if (due.isEmpty()) {
            long next = store.nextDue();
            return Duration.ofMillis(Math.min(MAX_SLEEP.toMillis(), Math.max(1, next - now)));
        }
        lock.lock();
        try {
            if (closed) {
                return MAX_SLEEP;
            }
            due.forEach(j -> inFlight.add(j.id()));
        } finally {
            lock.unlock();
        }
        for (Job j : due) {
            runners.execute(() -> run(j));
        }
        return Duration.ZERO;
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
            } finally {
                lock.unlock();
            }
            wake();
        }
    }

    private void attempt(Job job) {
        FunctionVersion v;
        try {
            v = invoker.resolve(job.function(), job.qualifier());
        } catch (NotFoundException e) {
            carryOut(job, AsyncPolicy.DEFAULT, retries.after(job, AsyncPolicy.DEFAULT,
                    new Retries.Attempt.NotFound(e.getMessage()), clock.instant()), null);
            return;
        }
        AsyncPolicy policy = v.manifest().async();
        Retries.Decision before = retries.before(job, policy, clock.instant());
        if (!(before instanceof Retries.Decision.Run)) {
            carryOut(job, policy, before, null);
            return;
        }
        InvokeResult result = null;
        Retries.Attempt attempt;
        try {
            result = invoker.invoke(new InvokeRequest(job.function(), job.qualifier(), job.payload(), "",
                    job.requestId(), false));
            attempt = result.error()
                    ? new Retries.Attempt.Failed(new String(result.payload(), StandardCharsets.UTF_8))
                    : new Retries.Attempt.Succeeded();
        } catch (ThrottledException e) {
            attempt = new Retries.Attempt.Throttled();
        } catch (NotFoundException e) {
            attempt = new Retries.Attempt.NotFound(e.getMessage());
        } catch (RuntimeException e) {
            attempt = new Retries.Attempt.Failed(new String(LambdaErrors.json("Bramble.InvokeFailed", e.toString()),
                    StandardCharsets.UTF_8));
        }
        if (isClosed()) {
            return; // the daemon is stopping and the environment with it: the row stays, to run after restart
        }
        if (attempt instanceof Retries.Attempt.Succeeded || attempt instanceof Retries.Attempt.Failed) {
            listener.attempted(job, attempt instanceof Retries.Attempt.Failed);
        }
        carryOut(job, policy, retries.after(job, policy, attempt, clock.instant()), result);
    }

    /** Does what {@link Retries} decided: the store first, then the counters and the listener. */
    private void carryOut(Job job, AsyncPolicy policy, Retries.Decision decision, InvokeResult result) {
        switch (decision) {
            case Retries.Decision.Run r -> throw new IllegalArgumentException("a job ends, it is not run again");
            case Retries.Decision.Remove r -> {
                store.remove(job.id());
                changeDepth(-1);
                succeeded.incrementAndGet();
                listener.succeeded(job, result, policy);
            }
            case Retries.Decision.RetryAt r -> {
                store.retryAt(job.id(), r.attempts(), r.error(), r.at().toEpochMilli());
                retried.incrementAndGet();
                LOG.log(Level.INFO, "async.retry request={0} function={1} attempt={2} at={3}", job.requestId(),
                        job.function(), r.attempts() + 1, r.at());
            }
            case Retries.Decision.WaitUntil w ->
                    store.retryAt(job.id(), job.attempts(), job.lastError(), w.at().toEpochMilli());
            case Retries.Decision.GiveUp g -> {
                DeadLetter letter = store.deadLetter(job, g.reason(), g.error(), g.attempts(), clock.millis());
                changeDepth(-1);
                deadLettered.incrementAndGet();
                LOG.log(Level.WARNING, "async.dead-letter request={0} function={1} reason={2} attempts={3}",
                        job.requestId(), job.function(), g.reason().json(), g.attempts());
                listener.deadLettered(letter, policy);
            }
        }
    }

    /** Dead letters, newest first, optionally of one function, with ids below {@code before} (0: any). */
    public List<DeadLetter> deadLetters(String function, long before, int limit) {
        return store.deadLetters(function, before, limit);
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
        QueueStore.Summary s = store.summary();
        long now = clock.millis();
        lock.lock();
        try {
            return new Status(depth, settings.maxDepth(),
                    s.oldestEnqueuedAt() == 0 ? 0 : Math.max(0, (now - s.oldestEnqueuedAt()) / 1000),
                    inFlight.size(), s.deadLetters(), enqueued.get(), succeeded.get(), retried.get(),
                    deadLettered.get(), rejected.get());
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
        return store.byFunction(clock.millis());
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

    private void changeDepth(int by) {
        lock.lock();
        try {
            depth += by;
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

    private void wake() {
        dispatcher.wake();
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
        } finally {
            lock.unlock();
        }
        dispatcher.close();
        runners.shutdown();
        store.close();
    }
}
