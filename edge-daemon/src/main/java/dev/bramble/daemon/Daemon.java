package dev.bramble.daemon;

import dev.bramble.daemon.agent.Agent;
import dev.bramble.daemon.async.AsyncQueue;
import dev.bramble.daemon.env.CallerCredentials;
import dev.bramble.daemon.env.ClassDataArchives;
import dev.bramble.daemon.env.Environments;
import dev.bramble.daemon.env.Launcher;
import dev.bramble.daemon.env.RuntimeApiHub;
import dev.bramble.daemon.function.FunctionIdentities;
import dev.bramble.daemon.function.FunctionRegistry;
import dev.bramble.daemon.http.FunctionGateway;
import dev.bramble.daemon.http.HttpApi;
import dev.bramble.daemon.http.RuntimeApiServer;
import dev.bramble.daemon.invoke.FunctionStats;
import dev.bramble.daemon.invoke.Invoker;
import dev.bramble.daemon.logs.LogStore;
import dev.bramble.daemon.metrics.Metrics;
import dev.bramble.daemon.store.Database;
import dev.bramble.daemon.trigger.Triggers;
import dev.bramble.protocol.Bundle;
import dev.bramble.protocol.ManifestParser;
import dev.bramble.protocol.TelemetryEntry;
import dev.bramble.sandbox.Sandbox;
import dev.bramble.sync.SyncAgent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * brambled's composition root: wires configuration, store, registry, environments, invoker and HTTP, starts them
 * in order and stops them in reverse. Start undoes what it began if a step fails; stop is idempotent.
 */
public final class Daemon implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Daemon.class.getName());

    /**
     * The whole stop must end before systemd's SIGKILL (the unit's TimeoutStopSec, 30 s): a step still running when
     * its share is used up is named in the log and left behind.
     */
    static final Duration STOP_BUDGET = Duration.ofSeconds(25);
    /** Where the generated admin token is kept, in the data directory. */
    public static final String ADMIN_TOKEN_FILE = "admin.token";

    /** A part the daemon started, by the name its stop reports. */
    private record Step(String name, AutoCloseable part) {
    }

    private final List<Step> started = new ArrayList<>();
    private final java.util.concurrent.atomic.AtomicBoolean stopped = new java.util.concurrent.atomic.AtomicBoolean();
    private final HttpApi http;
    private final FunctionRegistry registry;
    private final Invoker invoker;
    private final Environments environments;
    private final AsyncQueue queue;
    private final Triggers triggers;
    private final Agent agent;
    private final FunctionGateway gateway;
    private final RuntimeApiServer runtimeApiServer;

    private Daemon(DaemonConfig config, Sandbox sandbox, Clock clock) {
        Instant startedAt = clock.instant();
        long t0 = System.nanoTime();
        try {
            Files.createDirectories(config.dataDir());
            Database db = Database.open(config.dataDir());
            Metrics metrics = new Metrics();
            AtomicReference<Agent> agentRef = new AtomicReference<>();
            // One TLS context for the deployer, shared by the agent and the uploader.
            javax.net.ssl.SSLContext deployerTls = deployerTls(config.agent());
            SyncAgent sync = startSync(config, deployerTls, agentRef, metrics, clock);
            if (sync != null) {
                started.add(new Step("sync", sync));
            }
            LogStore logs = LogStore.start(db, config.logRetainLines(), config.logMaxLineBytes(), sync == null
                    ? e -> { } : e -> sync.outbox().append(TelemetryEntry.log(e.function(), e.epochMs(), e.stream(),
                    e.requestId(), e.message())));
            started.add(new Step("logs", logs));
            Bundle.Limits limits = new Bundle.Limits(config.bundleMaxBytes(), Bundle.Limits.DEFAULT.maxEntries(),
                    Bundle.Limits.DEFAULT.maxUnpackedBytes(), Bundle.Limits.DEFAULT.maxCompressionRatio());
            registry = FunctionRegistry.open(db, config.dataDir(), limits, new ManifestParser.Defaults(
                    config.defaultMemoryMb(), config.defaultTmpMb()), clock);
            if (sandbox.separateIdentities()) {
                protectState(config.dataDir());
            }
            protectDatabases(config.dataDir());
            CallerCredentials credentials = new CallerCredentials();
            // Before anything starts an environment: a Runtime API environment is told where its API is.
            RuntimeApiHub runtimeApi = new RuntimeApiHub();
            runtimeApiServer = RuntimeApiServer.start(runtimeApi);
            started.add(new Step("runtime-api", runtimeApiServer::stop));
            Launcher launcher = new Launcher(new Launcher.Settings(config.javaCommand(), config.runtimeClasspath(),
                    config.jvmOptions(), config.region(), config.sandbox().mbPerCpu(), config.sandbox().pidsMax(),
                    Runtime.getRuntime().availableProcessors(), config.dataDir(), config.classDataArchives()), sandbox,
                    new FunctionIdentities(db, config.sandbox().uidBase(), config.sandbox().uidCount()), credentials,
                    runtimeApi);
            environments = new Environments(launcher, sandbox, logs, config.dataDir().resolve("run"),
                    new Environments.Settings(config.maxEnvironmentsPerFunction(), Duration.ofSeconds(config.idleTtlSeconds()),
                            Duration.ofMillis(config.queueTimeoutMs()), config.queueLength(),
                            Duration.ofSeconds(config.initTimeoutSeconds()), config.memoryBudgetMb(),
                            config.maxEnvironments()),
                    clock);
            started.add(new Step("environments", environments));
            registry.onRemove(environments::remove);
            ClassDataArchives archives = new ClassDataArchives(launcher, environments, config.classDataArchives());
            invoker = new Invoker(registry, environments, logs, metrics, clock, config.region(), config.accountId());
            queue = AsyncQueue.start(db, invoker, clock, new AsyncQueue.Settings(config.async().maxDepth(),
                    config.async().workers(), Duration.ofMillis(config.async().retryBaseMs())));
            started.add(new Step("async-queue", queue));
            // Before anything starts an environment: a function granted invokes is told where to send them.
            gateway = FunctionGateway.start(invoker, queue, credentials, config.accountId(),
                    config.region(), clock);
            started.add(new Step("gateway", gateway::stop));
            triggers = Triggers.start(registry, queue, environments, invoker, db, new Triggers.Settings(
                    config.region(), config.accountId(), config.mqtt(), config.coap()), clock);
            started.add(new Step("triggers", triggers));
            // Only once the triggers hear of outcomes: a resumed job's reply goes through them.
            queue.startDispatching();
            DaemonConfig.AgentSettings a = config.agent();
            agent = a.deployerUrl().isEmpty() ? null : Agent.start(new Agent.Settings(a.deployerUrl()
                    .replaceAll("/+$", ""), a.enrolmentToken(), a.deviceName(), a.trustedKeys(), a.keepVersions(),
                    a.pollWaitSeconds(), deployerTls), db, registry, environments, archives, invoker,
                    config.dataDir(), clock);
            if (agent != null) {
                started.add(new Step("agent", agent));
                agentRef.set(agent);
            }
            instrument(metrics, invoker, queue, triggers, logs, sync);
            http = HttpApi.start(new HttpApi.Settings(config.httpBind(), config.httpPort(), version(), startedAt,
                    adminToken(config), config.bundleMaxBytes(), config.accountId(), config.allowUnsigned(),
                    config.agent().trustedKeys(), config.dataDir(),
                    java.time.Duration.ofSeconds(config.httpIdleTimeoutSeconds())), registry, environments,
                    invoker, queue, triggers, agent, logs, sandbox, archives, metrics, sync, clock);
            started.add(new Step("http", http::stop));
            sandbox.shutOut(listeners(http, triggers));
        } catch (IOException e) {
            closeStarted();
            throw new UncheckedIOException("cannot prepare " + config.dataDir(), e);
        } catch (RuntimeException | Error e) {
            closeStarted();
            throw e;
        }
        Sandbox.Isolation iso = sandbox.isolation();
        if (!iso.missing().isEmpty()) {
            LOG.log(Level.WARNING, "daemon.isolation mode={0} cgroups={1} missing={2} -- functions are NOT fully "
                    + "contained; see docs/isolation.md", iso.mode(), iso.cgroups(), iso.missing());
        }
        Thread.ofVirtual().name("bramble-provision").start(() -> provisionLive(registry, environments));
        LOG.log(Level.INFO, "daemon.profile profile={0} why={1}", config.device().profile().id(),
                config.device().reason());
        LOG.log(Level.INFO, "daemon.ready version={0} http={1}:{2} data_dir={3} functions={4} ms={5}", version(),
                config.httpBind(), Integer.toString(http.port()), config.dataDir(), registry.functions().size(),
                (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * The daemon's own ports, which no function may reach: HTTP, and CoAP when it listens. The function gateway is
     * not among them: it is the one functions may call, with credentials.
     */
    private static List<Sandbox.Listener> listeners(HttpApi http, Triggers triggers) {
        List<Sandbox.Listener> out = new ArrayList<>();
        out.add(new Sandbox.Listener("tcp", http.port()));
        triggers.coapPort().ifPresent(p -> out.add(new Sandbox.Listener("udp", p)));
        return out;
    }

    /**
     * The admin routes' token: {@code admin.token}, or one generated at the first start into
     * {@code <data-dir>/admin.token}, 0600 and the daemon's (root's) alone. Functions never see the data directory.
     */
    static String adminToken(DaemonConfig config) {
        if (!config.adminToken().isEmpty()) {
            return config.adminToken();
        }
        java.nio.file.Path file = config.dataDir().resolve(ADMIN_TOKEN_FILE);
        boolean generated = !Files.exists(file);
        String token = dev.bramble.protocol.PrivateFiles.token(file, "admin");
        if (generated) {
            LOG.log(Level.INFO, "daemon.admin-token-generated file={0}", file);
        }
        return token;
    }

    /** The sync agent, when there is a deployer to send to and sync is enabled; else null. */
    /** The TLS context that trusts agent.ca-file, or null for the JDK's CAs. */
    private static javax.net.ssl.SSLContext deployerTls(DaemonConfig.AgentSettings a) {
        if (a.caFile().isEmpty()) {
            return null;
        }
        try {
            return dev.bramble.protocol.PemTls.context(a.caFile(), "", "");
        } catch (java.io.IOException | java.security.GeneralSecurityException e) {
            throw new IllegalStateException("agent.ca-file: " + a.caFile() + " cannot be used: " + e.getMessage(), e);
        }
    }

    private static SyncAgent startSync(DaemonConfig config, javax.net.ssl.SSLContext deployerTls,
                                       AtomicReference<Agent> agent, Metrics metrics, Clock clock) {
        DaemonConfig.Sync s = config.sync();
        if (!s.enabled() || config.agent().deployerUrl().isEmpty()) {
            return null;
        }
        return SyncAgent.start(new SyncAgent.Settings(config.dataDir().resolve("outbox.db"),
                        (long) s.outboxMaxMb() << 20, s.batchMaxEntries(), (long) s.batchMaxKb() << 10,
                        Duration.ofMillis(s.batchMaxAgeMs()), Duration.ofMillis(s.backoffMinMs()),
                        Duration.ofMillis(s.backoffMaxMs()), s.bandwidthBytesPerSecond(),
                        Duration.ofSeconds(s.metricsIntervalSeconds()), deployerTls),
                () -> agent.get() == null ? Optional.empty() : agent.get().endpoint(), metrics::snapshotJson, clock);
    }

    /** Registers what the parts count anyway, read at scrape time. */
    private static void instrument(Metrics m, Invoker invoker, AsyncQueue queue, Triggers triggers, LogStore logs,
                                   SyncAgent sync) {
        List<String> fn = List.of("function");
        m.counter("bramble_invocations", "Invocations, by function", fn, () -> perFunction(invoker,
                FunctionStats::invocations));
        m.counter("bramble_errors", "Invocations that failed (threw, timed out, died, init failed)", fn,
                () -> perFunction(invoker, FunctionStats::errors));
        m.counter("bramble_throttles", "Invocations refused with 429 for want of an environment", fn,
                () -> perFunction(invoker, FunctionStats::throttles));
        m.counter("bramble_cold_starts", "Invocations that started an environment", fn,
                () -> perFunction(invoker, FunctionStats::coldStarts));
        m.counter("bramble_timeouts", "Invocations stopped at the function's timeout", fn,
                () -> perFunction(invoker, FunctionStats::timeouts));
        m.gauge("bramble_concurrent_executions", "Invocations running now", fn,
                () -> perFunction(invoker, FunctionStats::running));
        m.gauge("bramble_max_memory_used_bytes", "Most memory an environment used during an invocation", fn,
                () -> perFunction(invoker, FunctionStats::maxMemoryBytes));
        m.gauge("bramble_async_queue_depth", "Asynchronous invocations waiting or running", fn,
                () -> perQueue(queue, AsyncQueue.FunctionQueue::depth));
        m.gauge("bramble_async_queue_oldest_age_seconds", "How long the oldest queued invocation has waited", fn,
                () -> perQueue(queue, q -> q.oldestAgeMs() / 1000.0));
        m.gauge("bramble_dead_letters", "Asynchronous invocations kept in the dead-letter store", fn,
                () -> perQueue(queue, AsyncQueue.FunctionQueue::deadLetters));
        m.counter("bramble_trigger_events", "Trigger events by outcome: received, invoked, failed, dropped",
                List.of("trigger", "outcome"), () -> {
                    List<Metrics.Sample> out = new ArrayList<>();
                    triggers.counters().forEach((id, counts) -> counts.forEach((outcome, n) ->
                            out.add(Metrics.Sample.of(((Number) n).doubleValue(), id, outcome))));
                    return out;
                });
        m.counter("bramble_log_lines_dropped", "Log lines the local log store could not keep up with", List.of(),
                () -> List.of(Metrics.Sample.of(logs.dropped())));
        if (sync != null) {
            m.gauge("bramble_outbox_entries", "Telemetry entries waiting for the deployer", List.of(),
                    () -> List.of(Metrics.Sample.of(sync.outbox().backlog().entries())));
            m.counter("bramble_outbox_dropped", "Telemetry entries dropped at the outbox's cap", List.of(),
                    () -> List.of(Metrics.Sample.of(sync.outbox().backlog().dropped())));
        }
    }

    private static List<Metrics.Sample> perFunction(Invoker invoker,
                                                    java.util.function.ToDoubleFunction<FunctionStats> value) {
        List<Metrics.Sample> out = new ArrayList<>();
        invoker.stats().forEach((f, st) -> out.add(Metrics.Sample.of(value.applyAsDouble(st), f)));
        return out;
    }

    private static List<Metrics.Sample> perQueue(AsyncQueue queue,
                                                 java.util.function.ToDoubleFunction<AsyncQueue.FunctionQueue> value) {
        List<Metrics.Sample> out = new ArrayList<>();
        queue.byFunction().forEach((f, q) -> out.add(Metrics.Sample.of(value.applyAsDouble(q), f)));
        return out;
    }

    /**
     * Functions run as other users: the data directory stays traversable (their code is inside) but the state, the
     * bundles and uploads are the daemon's alone.
     */
    private static void protectState(java.nio.file.Path dataDir) throws IOException {
        Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx--x--x"));
        for (String name : List.of("bundles", "incoming")) {
            Files.setPosixFilePermissions(dataDir.resolve(name), PosixFilePermissions.fromString("rwx------"));
        }
    }

    /**
     * The daemon's SQLite files (state, telemetry outbox, with their WAL and shared-memory files) are its alone,
     * whoever else has an account on the device: they hold function configuration, payloads and logs.
     */
    private static void protectDatabases(java.nio.file.Path dataDir) throws IOException {
        try (var files = Files.list(dataDir)) {
            for (java.nio.file.Path p : files.filter(f -> f.getFileName().toString().startsWith("state.db")
                    || f.getFileName().toString().startsWith("outbox.db")).toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
            }
        }
    }

    /** Brings back the provisioned environments of every live version, after a restart. */
    private static void provisionLive(FunctionRegistry registry, Environments environments) {
        for (var f : registry.functions()) {
            Integer live = f.aliases().get(FunctionRegistry.LIVE);
            if (live == null || f.versions().get(live).manifest().concurrency().provisioned() == 0) {
                continue;
            }
            try {
                environments.provision(f.versions().get(live));
            } catch (Exception e) {
                LOG.log(Level.ERROR, "env.provision-failed function={0}:{1} error={2}", f.name(), live,
                        e.getMessage());
            }
        }
    }

    /**
     * Starts the daemon.
     *
     * @throws RuntimeException when a part fails to start; whatever had started is stopped again
     */
    public static Daemon start(DaemonConfig config, Sandbox sandbox, Clock clock) {
        return new Daemon(config, sandbox, clock);
    }

    /** The daemon's version, from its jar's manifest. */
    public static String version() {
        String v = Daemon.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** The HTTP port, useful when configured as 0. */
    /**
     * The Runtime API's port (loopback), open to functions like the gateway's: it serves each Runtime API environment
     * its own invocations only.
     */
    public int runtimeApiPort() {
        return runtimeApiServer.port();
    }

    /** The function gateway's port (loopback): the one port of the daemon's that functions may call. */
    public int gatewayPort() {
        return gateway.port();
    }

    public int port() {
        return http.port();
    }

    public FunctionRegistry registry() {
        return registry;
    }

    public Invoker invoker() {
        return invoker;
    }

    public Environments environments() {
        return environments;
    }

    public AsyncQueue queue() {
        return queue;
    }

    public Triggers triggers() {
        return triggers;
    }

    /**
     * Stops HTTP, then triggers and the queue, then every environment, then the log writer, within
     * {@link #STOP_BUDGET}. Idempotent.
     */
    @Override
    public void close() {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        long t0 = System.nanoTime();
        LOG.log(Level.INFO, "daemon.stopping");
        List<String> late = closeStarted();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (late.isEmpty()) {
            LOG.log(Level.INFO, "daemon.stopped ms={0}", ms);
        } else {
            LOG.log(Level.WARNING, "daemon.stopped-incomplete ms={0} unfinished={1}", ms, late);
        }
    }

    /**
     * Stops every started part in reverse order, each on a platform thread of its own, waiting for each at most
     * what is left of the budget. Returns the names of the parts that did not finish in time.
     */
    private List<String> closeStarted() {
        long deadline = System.nanoTime() + STOP_BUDGET.toNanos();
        List<String> late = new ArrayList<>();
        for (int i = started.size() - 1; i >= 0; i--) {
            Step step = started.get(i);
            Thread t = Thread.ofPlatform().name("bramble-stop-" + step.name()).daemon(true).start(() -> {
                try {
                    step.part().close();
                } catch (Exception e) {
                    LOG.log(Level.ERROR, "daemon.stop-step-failed step={0} error={1}", step.name(), e.toString());
                }
            });
            try {
                if (!t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))) {
                    LOG.log(Level.WARNING, "daemon.stop-step-late step={0} budget_ms={1}", step.name(),
                            STOP_BUDGET.toMillis());
                    late.add(step.name());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                late.add(step.name());
                break;
            }
        }
        started.clear();
        return late;
    }
}
