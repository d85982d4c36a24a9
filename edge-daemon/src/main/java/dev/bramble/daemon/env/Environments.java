package dev.bramble.daemon.env;

import dev.bramble.daemon.config.Option;
import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.logs.LogStore;
import dev.bramble.daemon.store.Trees;
import dev.bramble.sandbox.Sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Every environment of the daemon, under one lock. What a request gets (reuse, a cold start and what it evicts,
 * a wait, a throttle) is {@link PoolPolicy}'s decision from a view of the pools taken under the lock; this class
 * carries it out. Provisioned environments are started at deploy time, kept warm and never reaped or evicted. Child
 * processes are started and stopped outside the lock.
 */
public final class Environments implements AutoCloseable {
    public static final Option<Integer> MAX_ENVIRONMENTS = Option.integer("pool.max-environments", 64, 1, 10_000, "",
            "environments running at once, all functions together (default: the device profile's)");
    public static final Option<Integer> MAX_PER_FUNCTION = Option.integer("pool.max-environments-per-function", 4, 1,
            1000, "", "default cap of environments per function; concurrency.reserved in function.json overrides it");
    public static final Option<Integer> IDLE_TTL = Option.integer("pool.idle-ttl-seconds", 600, 1, 86_400, "s",
            "an environment idle this long is stopped");
    public static final Option<Integer> QUEUE_TIMEOUT = Option.integer("pool.queue-timeout-ms", 10_000, 0, 900_000,
            "ms", "how long a request waits for a free environment before 429 TooManyRequestsException");
    public static final Option<Integer> INIT_TIMEOUT = Option.integer("pool.init-timeout-seconds", 10, 1, 300, "s",
            "how long a child JVM may take to load its handler");
    public static final Option<Integer> QUEUE_LENGTH = Option.integer("pool.queue-length", 32, 0, 10_000, "",
            "requests that may wait for an environment at once");
    public static final Option<Long> MEMORY_BUDGET = Option.longInteger("pool.memory-budget-mb", 0, 0, 1L << 20,
            "MB", "sum of the memory limits of all environments; 0 means 60 % of the device's memory");

    private static final System.Logger LOG = System.getLogger(Environments.class.getName());
    /** Longer than one environment's own stop takes at worst: grace, SIGKILL, the wait for its exit. */
    static final Duration STOP_WAIT = Duration.ofSeconds(12);

    /**
     * Pool settings.
     *
     * @param defaultCap     environments per function (all its versions) unless its manifest reserves a number
     * @param idleTtl        an idle environment older than this is stopped
     * @param queueTimeout   how long a request waits for an environment
     * @param queueLength    how many requests may wait at once, device-wide
     * @param initTimeout    how long a child may take to load its handler
     * @param memoryBudgetMb the sum of the memory limits of all environments may not pass this
     * @param maxEnvironments environments running or starting at once, all functions together (the device
     *                        profile's; each JVM also costs CPU and file descriptors beyond its memory limit)
     */
    public record Settings(int defaultCap, Duration idleTtl, Duration queueTimeout, int queueLength,
                           Duration initTimeout, long memoryBudgetMb, int maxEnvironments) {
    }

    /**
     * An environment, busy for the caller, who must {@link #release} it.
     *
     * @param env  the environment
     * @param cold true when it was started for this request
     */
    public record Lease(Environment env, boolean cold) {
    }

    /** Starts environments: the one place the pool policy meets child processes. */
    @FunctionalInterface
    interface Starter {
        /** Starts an environment of {@code v}; a {@code training} one makes its class-data archive and sends it. */
        Environment start(FunctionVersion v, boolean training) throws InitFailedException;
    }

    private final Settings settings;
    private final Clock clock;
    private final Starter starter;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, FunctionPool> pools = new HashMap<>();
    private final ScheduledExecutorService timers;
    /**
     * Platform threads for what blocks on a child: writes to its channel and its stop (signals, waits for its exit,
     * its cgroup's removal). Threads come and go with the work (docs/decisions/0006).
     */
    private final ExecutorService io = Executors.newCachedThreadPool(Thread.ofPlatform().name("bramble-env-io-", 0)
            .daemon(true).stackSize(ChannelPeer.STACK_BYTES).factory());
    private final Deadlines deadlines = new Deadlines();
    private long usedMb;
    private int waiting;
    private boolean closed;
    /** Environments making a class-data archive ({@link #train}): nobody's to lease, stopped with the pool. */
    private final java.util.Set<Environment> training = new java.util.HashSet<>();
    /** Told of every environment started to run its function (not to train): the archives listen. */
    private volatile java.util.function.Consumer<FunctionVersion> afterColdStart = v -> { };

    public Environments(Launcher launcher, Sandbox sandbox, LogStore logs, Path runDir, Settings settings,
                        Clock clock) {
        this.settings = settings;
        this.clock = clock;
        // The reaper and the freezes run here; invocations' timeouts are kept by Deadlines.
        this.timers = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("bramble-env-reaper")
                .daemon(true).factory());
        Environment.Host host = new Environment.Host(launcher, sandbox, logs, runDir, settings.initTimeout(), io,
                deadlines, clock);
        this.starter = (v, training) -> Environment.start(v, training, host);
        clearRunDir(runDir);
        long period = Math.max(100, Math.min(settings.idleTtl().toMillis() / 4, 1_000));
        timers.scheduleWithFixedDelay(this::reapSafely, period, period, TimeUnit.MILLISECONDS);
    }

    /** Sets who is told of each cold start (the class-data archives, which train a version that has none). */
    public void afterColdStart(java.util.function.Consumer<FunctionVersion> listener) {
        afterColdStart = listener;
    }

    /**
     * A busy environment for one invocation of {@code v}.
     *
     * @throws ThrottledException  when none is available within the queue timeout, or the queue is full
     * @throws InitFailedException when a cold start fails to load the handler
     */
    public Lease acquire(FunctionVersion v) throws InitFailedException {
        List<Environment> evicted;
        List<Environment> dead = new ArrayList<>();
        FunctionPool pool;
        long deadline = System.nanoTime() + settings.queueTimeout().toNanos();
        lock.lock();
        try {
            pool = pool(v);
            boolean queued = false;
            try {
                while (true) {
                    if (closed) {
                        throw new IllegalStateException("the daemon is stopping");
                    }
                    long left = deadline - System.nanoTime();
                    // The warm path looks at the version's own pool only; the whole view is built for the rest.
                    PoolPolicy.Decision<Environment> decision = PoolPolicy.reuse(pool.view());
                    if (decision == null) {
                        // None to reuse: idle ones killed meanwhile go now, not at the reaper's next round.
                        List<Environment> gone = pool.idle.stream().filter(e -> !e.alive()).toList();
                        gone.forEach(e -> forget(pool, e));
                        dead.addAll(gone);
                        Map<FunctionPool, PoolPolicy.Pool<Environment>> views = new HashMap<>();
                        PoolPolicy.View<Environment> view = view(views);
                        decision = PoolPolicy.acquire(view, views.get(pool), queued, left > 0);
                    }
                    if (decision instanceof PoolPolicy.Decision.Reuse<Environment> reuse) {
                        reuse.dead().forEach(e -> forget(pool, e));
                        dead.addAll(reuse.dead());
                        Environment e = reuse.env();
                        pool.idle.remove(e);
                        if (e.inFlight++ == 0) {
                            e.busy();
                        }
                        return new Lease(e, false);
                    } else if (decision instanceof PoolPolicy.Decision.Start<Environment> start) {
                        evicted = start.evict();
                        claim(pool, evicted);
                        break;
                    } else if (decision instanceof PoolPolicy.Decision.Throttle<Environment> throttle) {
                        throw throttled(pool, throttle.reason());
                    }
                    if (!queued) {
                        queued = true;
                        waiting++;
                    }
                    changed.awaitNanos(left);
                }
            } finally {
                if (queued) {
                    waiting--;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ThrottledException(ThrottledException.Reason.CONCURRENCY, "interrupted while waiting");
        } finally {
            lock.unlock();
            if (!dead.isEmpty()) {
                stopAll(dead, "died while idle");
            }
        }
        stopAll(evicted, "evicted for " + v.label());
        return new Lease(coldStart(pool, false), true);
    }

    /** Every pool as the policy sees it, under the lock; {@code views} gets each pool's. */
    private PoolPolicy.View<Environment> view(Map<FunctionPool, PoolPolicy.Pool<Environment>> views) {
        for (FunctionPool p : pools.values()) {
            views.put(p, p.view());
        }
        return new PoolPolicy.View<>(settings.memoryBudgetMb(), usedMb, settings.maxEnvironments(),
                settings.queueLength(), waiting, views.values());
    }

    /** Under the lock: carries out a start the policy allowed, its evictions first (the caller stops them). */
    private void claim(FunctionPool pool, List<Environment> victims) {
        for (Environment victim : victims) {
            FunctionPool owner = pools.get(key(victim.version()));
            owner.idle.remove(victim);
            owner.all.remove(victim);
            usedMb -= owner.memoryMb();
        }
        usedMb += pool.memoryMb();
        pool.starting++;
    }

    /**
     * Under the lock: claims room for one cold start of {@code pool}, evicting what the policy names (into
     * {@code evicted}). Returns null on success, else why not.
     */
    private ThrottledException.Reason tryReserve(FunctionPool pool, List<Environment> evicted) {
        Map<FunctionPool, PoolPolicy.Pool<Environment>> views = new HashMap<>();
        PoolPolicy.Decision<Environment> d = PoolPolicy.start(view(views), views.get(pool));
        if (d instanceof PoolPolicy.Decision.Start<Environment> start) {
            claim(pool, start.evict());
            evicted.addAll(start.evict());
            return null;
        }
        return ((PoolPolicy.Decision.Throttle<Environment>) d).reason();
    }

    /**
     * Under the lock: claims room for one more environment of {@code pool} without evicting anything or waiting, for
     * starts nobody waits on (a warm-up, an archive's training).
     *
     * @return false when there is no such room
     */
    private boolean claimSpareRoom(FunctionPool pool) {
        Map<FunctionPool, PoolPolicy.Pool<Environment>> views = new HashMap<>();
        if (closed || !PoolPolicy.spare(view(views), views.get(pool))) {
            return false;
        }
        claim(pool, List.of());
        return true;
    }

    private ThrottledException throttled(FunctionPool pool, ThrottledException.Reason reason) {
        String function = pool.version.function();
        return new ThrottledException(reason, switch (reason) {
            case CONCURRENCY -> "Rate Exceeded: " + function + " is at its concurrency limit of " + pool.cap
                    + " environments (all its versions together); waited " + settings.queueTimeout().toMillis() + " ms for one to free up";
            case MEMORY -> "Rate Exceeded: no room in the device's memory budget of " + settings.memoryBudgetMb()
                    + " MB for another " + pool.memoryMb() + " MB environment of " + function + " ("
                    + usedMb + " MB in use, nothing idle to evict); waited " + settings.queueTimeout().toMillis()
                    + " ms";
            case DEVICE_LIMIT -> "Rate Exceeded: the device runs its most environments at once ("
                    + settings.maxEnvironments() + ", pool.max-environments) and none is idle to stop; waited "
                    + settings.queueTimeout().toMillis() + " ms";
            case QUEUE_FULL -> "Rate Exceeded: " + waiting + " requests are already waiting for an environment "
                    + "(pool.queue-length)";
        });
    }

    /** Starts an environment whose room is already claimed; gives the room back if it fails. */
    private Environment coldStart(FunctionPool pool, boolean provisioned) throws InitFailedException {
        return coldStart(pool, provisioned, false);
    }

    private Environment coldStart(FunctionPool pool, boolean provisioned, boolean training)
            throws InitFailedException {
        Environment env = null;
        try {
            env = starter.start(pool.version, training);
            if (!training) {
                afterColdStart.accept(pool.version);
            }
            env.markProvisioned(provisioned);
            return env;
        } finally {
            boolean stopNow = false;
            lock.lock();
            try {
                pool.starting--;
                if (env == null) {
                    usedMb -= pool.removed ? 0 : pool.memoryMb();
                } else if (closed) {
                    usedMb -= pool.removed ? 0 : pool.memoryMb();
                    stopNow = true;
                } else {
                    pool.all.add(env);
                    env.inFlight = 1;
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
            if (stopNow) {
                env.stop();
                throw new IllegalStateException("the daemon stopped during a cold start of " + pool.version.label());
            }
        }
    }

    /** Hands an environment back after an invocation; one that may not be reused is stopped. */
    public void release(Lease lease, boolean reusable) {
        Environment env = lease.env();
        boolean stop;
        boolean idle;
        lock.lock();
        try {
            FunctionPool pool = pools.get(key(env.version()));
            env.inFlight--;
            // no pool, or a new one of the same name and version: the function was removed under it
            stop = closed || !reusable || !env.alive() || pool == null || !pool.all.contains(env);
            idle = !stop && env.inFlight == 0;
            if (stop) {
                forget(pool, env);
            } else if (idle) {
                env.idle();
                pool.idle.addFirst(env);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (stop) {
            env.stop();
        } else if (idle) {
            env.freezeWhenIdle(timers);
        }
    }

    private void forget(FunctionPool pool, Environment env) {
        if (pool != null && pool.all.remove(env)) {
            pool.idle.remove(env);
            usedMb -= pool.memoryMb();
        }
    }

    /**
     * Starts the version's provisioned environments (its manifest's {@code concurrency.provisioned}) and waits until
     * they are ready; environments provisioned for other versions of the function become on-demand ones and age out.
     *
     * @return how many were started
     * @throws InitFailedException when one fails to load the handler
     */
    public int provision(FunctionVersion v) throws InitFailedException {
        int wanted = v.manifest().concurrency().provisioned();
        List<FunctionPool> toStart = new ArrayList<>();
        lock.lock();
        try {
            FunctionPool pool = pool(v);
            for (FunctionPool p : pools.values()) {
                if (p.version.function().equals(v.function()) && p != pool) {
                    p.all.forEach(e -> e.markProvisioned(false));
                }
            }
            // Warm environments the version already has count first.
            long have = pool.provisioned();
            for (Environment e : pool.all) {
                if (have < wanted && !e.provisioned()) {
                    e.markProvisioned(true);
                    have++;
                }
            }
            for (long i = have; i < wanted; i++) {
                List<Environment> evicted = new ArrayList<>();
                ThrottledException.Reason blocked = tryReserve(pool, evicted);
                if (blocked != null) {
                    throw throttled(pool, blocked);
                }
                stopAllLater(evicted);
                toStart.add(pool);
            }
        } finally {
            lock.unlock();
        }
        int started = 0;
        for (FunctionPool pool : toStart) {
            Environment env = coldStart(pool, true);
            release(new Lease(env, true), true);
            started++;
        }
        if (started > 0) {
            LOG.log(Level.INFO, "env.provisioned function={0} count={1}", v.label(), started);
        }
        return started;
    }

    /**
     * Makes sure {@code v} has an idle environment ahead of an invocation that is known to come (a schedule's
     * warm-up): starts one when it has none and there is room without evicting anything.
     *
     * @return true when an environment is idle now; false when none could be started yet (something is starting, or
     *         there is no room), for the caller to try again
     */
    public boolean warm(FunctionVersion v) throws InitFailedException {
        FunctionPool pool;
        lock.lock();
        try {
            pool = pool(v);
            if (!pool.idle.isEmpty()) {
                return true;
            }
            if (pool.starting > 0 || !claimSpareRoom(pool)) {
                return false;
            }
        } finally {
            lock.unlock();
        }
        release(new Lease(coldStart(pool, false), true), true);
        return true;
    }

    /** How long a training run may take to dump and send its archive. */
    static final long ARCHIVE_WAIT_MS = 60_000;

    /**
     * Starts one training environment of {@code v}, which makes the version's class-data archive and sends it,
     * then stops it. Only when there is room without evicting anything or waiting.
     *
     * @return false when there was no room
     */
    boolean train(FunctionVersion v) throws InitFailedException {
        FunctionPool pool;
        lock.lock();
        try {
            pool = pool(v);
            if (!claimSpareRoom(pool)) {
                return false;
            }
        } finally {
            lock.unlock();
        }
        Environment env = coldStart(pool, false, true);
        lock.lock();
        try {
            // Not the function's to lease, list or recycle; its room stays claimed until it has stopped.
            pool.all.remove(env);
            training.add(env);
        } finally {
            lock.unlock();
        }
        try {
            env.awaitArchive(ARCHIVE_WAIT_MS);
        } finally {
            env.stop();
            lock.lock();
            try {
                if (training.remove(env)) {
                    usedMb -= pool.memoryMb();
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
        return true;
    }

    /**
     * Stops the idle environments of a function, provisioned ones included (they come back at the next
     * provisioning). Busy ones finish their invocation first and are kept.
     *
     * @return how many were stopped
     */
    public int recycle(String function) {
        List<Environment> stopped = new ArrayList<>();
        lock.lock();
        try {
            for (FunctionPool p : pools.values()) {
                if (p.version.function().equals(function)) {
                    for (Environment e : List.copyOf(p.idle)) {
                        forget(p, e);
                        stopped.add(e);
                    }
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        stopAll(stopped, "recycled");
        return stopped.size();
    }

    /**
     * Forgets a deleted function: every version's pool goes, its idle environments are stopped now and busy ones
     * when their invocation ends (a release finds no pool), and their memory leaves the budget at once.
     *
     * @return how many were stopped now
     */
    public int remove(String function) {
        List<Environment> stopped = new ArrayList<>();
        lock.lock();
        try {
            for (var it = pools.values().iterator(); it.hasNext(); ) {
                FunctionPool p = it.next();
                if (p.version.function().equals(function)) {
                    stopped.addAll(p.idle);
                    p.idle.clear();
                    // everything the pool holds leaves the budget now; its late cold starts and releases know
                    usedMb -= (long) (p.all.size() + p.starting) * p.memoryMb();
                    p.removed = true;
                    it.remove();
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        stopAll(stopped, "function-removed");
        return stopped.size();
    }

    /** Stops on-demand environments idle longer than the TTL, by the clock given at construction. */
    public int reap() {
        List<Environment> expired = new ArrayList<>();
        Instant now = clock.instant();
        lock.lock();
        try {
            for (FunctionPool p : pools.values()) {
                for (Environment e : List.copyOf(p.idle)) {
                    if (!e.alive() || !e.provisioned() && !e.lastUsed().plus(settings.idleTtl()).isAfter(now)) {
                        forget(p, e);
                        expired.add(e);
                    }
                }
            }
            if (!expired.isEmpty()) {
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
        stopAll(expired, "idle");
        return expired.size();
    }

    private void reapSafely() {
        try {
            int n = reap();
            if (n > 0) {
                LOG.log(Level.INFO, "env.reaped count={0} idle_ttl_s={1}", n, settings.idleTtl().toSeconds());
            }
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "env.reap-failed error={0}", e.toString());
        }
    }

    /** Every environment, sorted by function, version and start time. */
    public List<Environment> environments() {
        lock.lock();
        try {
            return pools.values().stream().flatMap(p -> p.all.stream())
                    .sorted(Comparator.comparing((Environment e) -> e.version().function())
                            .thenComparing(e -> e.version().version()).thenComparing(Environment::startedAt))
                    .toList();
        } finally {
            lock.unlock();
        }
    }

    /** Memory limits of all environments, running and starting, MB. Never more than the budget. */
    public long usedMb() {
        lock.lock();
        try {
            return usedMb;
        } finally {
            lock.unlock();
        }
    }

    public long budgetMb() {
        return settings.memoryBudgetMb();
    }

    /** The cap of environments for a function version. */
    public int cap(FunctionVersion v) {
        return v.manifest().concurrency().reserved().orElse(settings.defaultCap());
    }

    private FunctionPool pool(FunctionVersion v) {
        return pools.computeIfAbsent(key(v), k -> new FunctionPool(v, cap(v),
                v.manifest().concurrency().reserved().orElse(0)));
    }

    private static String key(FunctionVersion v) {
        return v.label() + "@" + v.sha256();
    }

    /**
     * Stops environments in parallel and waits for them, at most {@link #STOP_WAIT}: a stop is itself bounded
     * (SIGTERM, a grace, SIGKILL of the cgroup), so one still running after that is named, not waited for.
     */
    private void stopAll(List<Environment> envs, String why) {
        if (envs.isEmpty()) {
            return;
        }
        List<Future<?>> stops = new ArrayList<>();
        for (Environment e : envs) {
            stops.add(submitStop(e));
        }
        long deadline = System.nanoTime() + STOP_WAIT.toNanos();
        List<String> late = new ArrayList<>();
        for (int i = 0; i < stops.size(); i++) {
            try {
                stops.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                late.add(envs.get(i).stream());
            } catch (ExecutionException e) {
                LOG.log(Level.WARNING, "env.stop-failed stream={0} error={1}", envs.get(i).stream(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (!late.isEmpty()) {
            LOG.log(Level.WARNING, "env.stop-late count={0} reason={1} waited_ms={2} streams={3}", late.size(), why,
                    STOP_WAIT.toMillis(), late);
        }
        LOG.log(Level.INFO, "env.stopped count={0} reason={1}", envs.size() - late.size(), why);
    }

    private void stopAllLater(List<Environment> envs) {
        envs.forEach(this::submitStop);
    }

    private Future<?> submitStop(Environment e) {
        try {
            return io.submit(e::stop);
        } catch (RejectedExecutionException closing) {
            // the pool is closed: stop here, on this thread
            e.stop();
            return CompletableFuture.completedFuture(null);
        }
    }

    /** Stops every environment, busy ones too. Idempotent. */
    @Override
    public void close() {
        List<Environment> all = new ArrayList<>();
        lock.lock();
        try {
            closed = true;
            pools.values().forEach(p -> all.addAll(p.all));
            all.addAll(training);
            training.clear();
            pools.clear();
            usedMb = 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        stopAll(all, "daemon-stopping");
        timers.shutdownNow();
        io.shutdown();
        deadlines.close();
    }

    private static void clearRunDir(Path runDir) {
        try {
            Trees.empty(runDir);
            // Without bubblewrap an environment's /tmp is its directory here, its own uid's: that uid must be able
            // to pass through (not to list what else is here).
            Files.setPosixFilePermissions(runDir, java.nio.file.attribute.PosixFilePermissions.fromString(
                    "rwx--x--x"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + runDir, e);
        }
    }
}
