package dev.bramble.daemon.env;

import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.logs.LogStore;
import dev.bramble.sandbox.Sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Every environment of the daemon, in one pool per function version, and the reaper that retires idle ones.
 *
 * @see FunctionPool
 */
public final class Environments implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Environments.class.getName());

    /**
     * Pool settings.
     *
     * @param defaultCap   environments per function version unless its manifest reserves a number
     * @param idleTtl      an idle environment older than this is stopped
     * @param queueTimeout how long a request waits for a free environment
     * @param initTimeout  how long a child may take to load its handler
     */
    public record Settings(int defaultCap, Duration idleTtl, Duration queueTimeout, Duration initTimeout) {
    }

    private final Launcher launcher;
    private final Sandbox sandbox;
    private final LogStore logs;
    private final Path runDir;
    private final Settings settings;
    private final Clock clock;
    private final ConcurrentMap<String, FunctionPool> pools = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timers;

    public Environments(Launcher launcher, Sandbox sandbox, LogStore logs, Path runDir, Settings settings,
                        Clock clock) {
        this.launcher = launcher;
        this.sandbox = sandbox;
        this.logs = logs;
        this.runDir = runDir;
        this.settings = settings;
        this.clock = clock;
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform()
                .name("bramble-env-timers").daemon(true).unstarted(r));
        clearRunDir();
        long period = Math.max(100, Math.min(settings.idleTtl().toMillis() / 4, 1_000));
        timers.scheduleWithFixedDelay(this::reapSafely, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * A busy environment for one invocation of {@code v}: idle and warm if there is one, cold-started if the cap
     * allows, else the first to free up within the queue timeout.
     *
     * @throws ThrottledException  when none frees up in time
     * @throws InitFailedException when a cold start fails to load the handler
     */
    public FunctionPool.Lease acquire(FunctionVersion v) throws InitFailedException {
        return pool(v).acquire(settings.queueTimeout());
    }

    /** Hands an environment back after an invocation. */
    public void release(FunctionPool.Lease lease, boolean reusable) {
        pool(lease.env().version()).release(lease.env(), reusable);
    }

    /** Stops environments idle longer than the TTL, by the clock given at construction. */
    public int reap() {
        int stopped = 0;
        for (FunctionPool p : pools.values()) {
            stopped += p.reap(clock.instant(), settings.idleTtl());
        }
        return stopped;
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
        return pools.values().stream().flatMap(p -> p.environments().stream())
                .sorted(Comparator.comparing((Environment e) -> e.version().function())
                        .thenComparing(e -> e.version().version()).thenComparing(Environment::startedAt))
                .toList();
    }

    /** The cap of environments for a function version. */
    public int cap(FunctionVersion v) {
        return v.manifest().concurrency().reserved().orElse(settings.defaultCap());
    }

    private FunctionPool pool(FunctionVersion v) {
        return pools.computeIfAbsent(v.label() + "@" + v.sha256(), k -> new FunctionPool(v, cap(v),
                fv -> Environment.start(fv, launcher, sandbox, logs, runDir, settings.initTimeout(), timers, clock)));
    }

    /** Stops every environment. Idempotent. */
    @Override
    public void close() {
        List<FunctionPool> all = List.copyOf(pools.values());
        pools.clear();
        all.forEach(FunctionPool::close);
        timers.shutdownNow();
        LOG.log(Level.INFO, "env.closed pools={0}", all.size());
    }

    private void clearRunDir() {
        try {
            Files.createDirectories(runDir);
            try (var leftovers = Files.walk(runDir)) {
                leftovers.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(runDir))
                        .forEach(p -> p.toFile().delete());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + runDir, e);
        }
    }
}
