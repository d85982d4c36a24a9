package dev.bramble.daemon.env;

import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.logs.InvocationLog;
import dev.bramble.daemon.logs.LogStore;
import dev.bramble.daemon.store.Trees;
import dev.bramble.runtime.Channel;
import dev.bramble.sandbox.ContainedProcess;
import dev.bramble.sandbox.Exit;
import dev.bramble.sandbox.LaunchSpec;
import dev.bramble.sandbox.Sandbox;
import dev.bramble.sandbox.Usage;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One execution environment: a child JVM running one function version, its channel and its log stream.
 * It serves one invocation at a time, or as many as its function's {@code perEnvironment} concurrency; its pool
 * guarantees that. States follow {@link #TRANSITIONS}. Invocations wait on futures only: the child's pipes are read
 * and written on platform threads ({@link ChannelPeer}, {@link LogPump}).
 */
public final class Environment {
    private static final System.Logger LOG = System.getLogger(Environment.class.getName());
    private static final DateTimeFormatter STREAM_DATE = DateTimeFormatter.ofPattern("yyyy/MM/dd")
            .withZone(ZoneOffset.UTC);
    private static final Duration STOP_GRACE = Duration.ofSeconds(2);
    private static final long EXIT_GRACE_MS = 3_000;
    /**
     * How long an environment stays idle before it is frozen. Short enough that an idle function's background work
     * costs next to nothing; long enough that a function under steady load is not frozen and thawed between every
     * two calls (freezing signals every thread of the JVM). The end of an invocation's output never waits for a
     * thaw: the runtime flushes its end marker before it answers, so the marker is in the pipe by then.
     */
    static final long FREEZE_AFTER_MS = 50;
    private static final long FREEZE_AFTER_NANOS = FREEZE_AFTER_MS * 1_000_000L;

    /** The lifecycle of an environment. */
    public enum State { STARTING, IDLE, BUSY, STOPPING, STOPPED, FAILED }

    static final Map<State, Set<State>> TRANSITIONS = Map.of(
            State.STARTING, EnumSet.of(State.BUSY, State.FAILED, State.STOPPING),
            State.IDLE, EnumSet.of(State.BUSY, State.STOPPING),
            State.BUSY, EnumSet.of(State.IDLE, State.FAILED, State.STOPPING),
            State.STOPPING, EnumSet.of(State.STOPPED),
            State.FAILED, EnumSet.of(State.STOPPING),
            State.STOPPED, EnumSet.noneOf(State.class));

    private final String stream;
    private final FunctionVersion version;
    private final ContainedProcess process;
    private final Peer channel;
    /** Ends what the environment's peer holds open (a Runtime API environment's registration and log writer). */
    private final Runnable closePeer;
    private final LogPump pump;
    private final Path tmp;
    /** Revokes the environment's credentials (CallerCredentials), if it has any: at its stop. */
    private final Runnable revokeCredentials;
    private final LogStore logs;
    private final Deadlines deadlines;
    private final Clock clock;
    private final Instant startedAt;
    private final AtomicLong invocations = new AtomicLong();
    private volatile State state = State.STARTING;
    private volatile Instant lastUsed;
    private volatile long peakBytes;
    private volatile boolean provisioned;
    private long initNanos;
    private final java.util.concurrent.atomic.AtomicBoolean initReported = new java.util.concurrent.atomic.AtomicBoolean();
    /** Invocations running now; guarded by the lock of {@link Environments}. */
    int inFlight;
    /** Guards {@link #frozen} and the freezer writes: a freeze never lands on an environment that went busy. */
    private final java.util.concurrent.locks.ReentrantLock freezing = new java.util.concurrent.locks.ReentrantLock();
    private boolean frozen;
    /** Whether a freeze check is scheduled ({@link #freezeWhenIdle}). */
    private final java.util.concurrent.atomic.AtomicBoolean freezeCheck = new java.util.concurrent.atomic.AtomicBoolean();
    /** When the environment last went idle, System.nanoTime(). */
    private volatile long idleSince;
    /** The function's JVM below the sandbox's steps, found before the first freeze (off the invoke path). */
    private volatile ProcessHandle jvm;

    private Environment(String stream, FunctionVersion version, ContainedProcess process, LogPump pump, Path tmp,
                        Host host, Runnable revokeCredentials, Path archiveTarget) throws IOException {
        LogStore logs = host.logs();
        Executor io = host.io();
        Clock clock = host.clock();
        RuntimeApiHub runtimeApi = host.launcher().runtimeApi();
        this.deadlines = host.deadlines();
        this.revokeCredentials = revokeCredentials;
        this.logs = logs;
        this.stream = stream;
        this.version = version;
        this.process = process;
        if (version.manifest().runtimeKind().runtimeApi()) {
            RuntimeApiPeer peer = runtimeApiPeer(stream, version, process, io);
            runtimeApi.register(peer);
            this.channel = peer;
            this.closePeer = () -> runtimeApi.unregister(peer);
        } else {
            this.channel = new ChannelPeer(process.stdout(), process.stdin(), stream,
                    line -> logs.append(version.function(), stream, null, clock.millis(), line), io, archiveTarget);
            this.closePeer = () -> { };
        }
        this.pump = pump;
        this.tmp = tmp;
        this.clock = clock;
        this.startedAt = clock.instant();
        this.lastUsed = startedAt;
    }

    /**
     * A Runtime API environment's peer. Its runtime prints on stdout and stderr, both in the one pipe the log pump
     * reads (the launch points fd 1 at fd 2), and knows nothing of Bramble's end-of-log marker: the daemon writes
     * the marker into that pipe itself, through the first process's own descriptor of it, once an answer arrived.
     * Everything the runtime wrote before it sent the answer is in the pipe by then, so END and REPORT follow the
     * invocation's own lines, as they do for a Java function.
     */
    private static RuntimeApiPeer runtimeApiPeer(String stream, FunctionVersion version, ContainedProcess process,
                                                 Executor io) throws IOException {
        process.stdin().close(); // nothing arrives on stdin: a runtime that reads it sees its end
        java.io.OutputStream pipe = Files.newOutputStream(Path.of("/proc", Long.toString(process.pid()), "fd", "2"),
                java.nio.file.StandardOpenOption.WRITE);
        java.util.concurrent.locks.ReentrantLock writing = new java.util.concurrent.locks.ReentrantLock();
        process.onExit().whenComplete((x, e) -> {
            try {
                pipe.close();
            } catch (IOException ignored) {
                // closed
            }
        });
        return new RuntimeApiPeer(stream, version.function(), process.pid(), process.onExit(), requestId -> {
            writing.lock();
            try {
                pipe.write((Channel.END_OF_LOG_MARKER + requestId + "\n").getBytes(
                        java.nio.charset.StandardCharsets.UTF_8));
                pipe.flush();
            } catch (IOException e) {
                // the environment is gone: its log pump closes the capture at the pipe's end
            } finally {
                writing.unlock();
            }
        }, io);
    }

    /**
     * What every environment of a pool shares.
     *
     * @param io          runs the writes to the children's channels: platform threads only
     * @param deadlines   fails an invocation's wait at its timeout
     * @param initTimeout how long a cold start may take
     */
    record Host(Launcher launcher, Sandbox sandbox, LogStore logs, Path runDir, Duration initTimeout, Executor io,
                Deadlines deadlines, Clock clock) {
    }

    /**
     * Starts a child JVM and waits until its handler is loaded. The environment is returned {@code BUSY}, for
     * the invocation that asked for it.
     *
     * @throws InitFailedException with Lambda's error object when the handler cannot be loaded
     */
    static Environment start(FunctionVersion v, boolean training, Host host) throws InitFailedException {
        try {
            return startOnce(v, training, host);
        } catch (InitFailedException e) {
            // A class-data archive the JVM finds unusable can stop it before main(); it must never fail a call.
            if (e.exited() && host.launcher().discardArchive(v)) {
                LOG.log(Level.WARNING, "archive.discarded function={0} reason=jvm-exited-during-init stream={1}",
                        v.label(), e.stream());
                return startOnce(v, training, host);
            }
            throw e;
        }
    }

    private static Environment startOnce(FunctionVersion v, boolean training, Host host) throws InitFailedException {
        Launcher launcher = host.launcher();
        Clock clock = host.clock();
        LogStore logs = host.logs();
        String stream = streamName(v, clock);
        long t0 = System.nanoTime();
        Path tmp = host.runDir().resolve(stream.replace('/', '-').replace("[", "").replace("]", "-"));
        ContainedProcess process;
        Runnable revoke = () -> { };
        try {
            Files.createDirectories(tmp);
            LaunchSpec spec = launcher.spec(v, stream, tmp, training);
            revoke = launcher.revoker(v, spec);
            process = host.sandbox().launch(spec);
        } catch (IOException e) {
            revoke.run();
            Trees.deleteQuietly(tmp);
            throw new InitFailedException("cannot start a JVM: " + e.getMessage(), "Runtime.Unknown",
                    "Could not start the runtime: " + e.getMessage(), System.nanoTime() - t0, stream, false);
        } catch (RuntimeException e) {
            revoke.run();
            throw e;
        }
        LogPump pump = new LogPump(process.stderr(), logs, v.function(), stream, clock);
        pump.start();
        Environment env;
        try {
            env = new Environment(stream, v, process, pump, tmp, host, revoke,
                    training ? launcher.archiveTarget(v) : null);
        } catch (IOException e) {
            process.kill();
            revoke.run();
            throw new InitFailedException("cannot prepare the environment: " + e.getMessage(), "Runtime.Unknown",
                    "Could not start the runtime: " + e.getMessage(), System.nanoTime() - t0, stream, false);
        }
        env.channel.start();
        env.awaitReady(t0, host.initTimeout());
        return env;
    }

    private void awaitReady(long t0, Duration initTimeout) throws InitFailedException {
        long left = initTimeout.toNanos() - (System.nanoTime() - t0);
        Channel.Frame frame = channel.awaitFirst(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left) + 1)).orElse(null);
        initNanos = System.nanoTime() - t0;
        // No first frame while the channel is still open: the init deadline passed.
        boolean timedOut = frame == null && !channel.ended();
        if (timedOut) {
            process.kill();
        }
        if (frame instanceof Channel.Ready) {
            transition(State.BUSY);
            LOG.log(Level.DEBUG, "env.ready function={0} stream={1} pid={2} init_ms={3}", version.label(), stream,
                    process.pid(), initNanos / 1_000_000);
            return;
        }
        transition(State.FAILED);
        InitFailedException failure;
        if (frame instanceof Channel.InitError e) {
            failure = new InitFailedException("handler failed to initialise", e.error(), initNanos, stream);
        } else {
            Exit exit = awaitExit();
            failure = new InitFailedException(timedOut ? "init timed out after " + initTimeout.toSeconds() + " s"
                    : "runtime exited: " + exit.describe(), "Runtime.ExitError", timedOut
                    ? "Init timed out after " + initTimeout.toSeconds() + ".00 seconds"
                    : "Runtime exited with error: " + exit.describe() + " during init", initNanos, stream, true);
        }
        stop();
        throw failure;
    }

    /**
     * Runs one invocation. The function's own output goes to {@code log} as the log pump reads it, and the log is
     * told when the output has drained; its START and closing lines are the invoker's.
     */
    public Result invoke(String requestId, String invokedArn, String clientContext, byte[] payload,
                         InvocationLog log) {
        thaw();
        lastUsed = clock.instant();
        invocations.incrementAndGet();
        long timeoutMs = version.manifest().timeoutSeconds() * 1000L;
        long deadline = System.currentTimeMillis() + timeoutMs;
        pump.begin(requestId, log);
        long t0 = System.nanoTime();
        Channel.Invoke invoke = new Channel.Invoke(requestId, deadline, invokedArn, clientContext, payload);
        Channel.Result answer = null;
        boolean timedOut = false;
        try {
            answer = deadlines.within(channel.send(invoke), timeoutMs).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TimeoutException) {
                timedOut = true;
                process.kill();
            }
            // else the channel ended: the child is exiting
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long nanos = System.nanoTime() - t0;
        Outcome outcome;
        if (answer != null && answer.ok() && answer.payload().length > Channel.MAX_RESPONSE_BYTES) {
            // The runtime refuses such a response itself; a function that writes its own frames gets the same.
            outcome = new Outcome.TooLarge(answer.durationNanos(), !answer.last() && process.isAlive());
        } else if (answer != null) {
            // A runtime that says this was its last answer (a fatal JVM error) is not reused.
            outcome = new Outcome.Completed(answer.payload(), !answer.ok(), answer.durationNanos(),
                    !answer.last() && process.isAlive());
        } else if (channel.oversizedFrame()) {
            // Past a frame longer than the channel allows nothing it says can be read: the environment goes.
            process.kill();
            outcome = new Outcome.TooLarge(nanos, false);
        } else if (timedOut) {
            outcome = new Outcome.TimedOut(timeoutMs * 1_000_000L);
        } else {
            // The child is exiting (System.exit, a crash, the OOM killer): let it finish, since a JVM may still
            // be writing its class-data archive, and only then make sure.
            Exit exit = awaitExit(EXIT_GRACE_MS);
            outcome = new Outcome.Died(exit, nanos, process.oomKilled());
        }
        peakBytes = Math.max(peakBytes, process.memoryPeakBytes());
        boolean firstInvocation = initReported.compareAndSet(false, true);
        lastUsed = clock.instant();
        return new Result(outcome, firstInvocation ? initNanos : -1, peakBytes);
    }

    /**
     * What {@link #invoke} returns.
     *
     * @param outcome   how it ended
     * @param initNanos the cold start's duration, on the environment's first invocation; -1 after
     * @param peakBytes the environment's peak memory use so far
     */
    public record Result(Outcome outcome, long initNanos, long peakBytes) {
    }

    private Exit awaitExit() {
        return awaitExit(5_000);
    }

    private Exit awaitExit(long ms) {
        try {
            return process.onExit().get(ms, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            process.kill();
        }
        return new Exit(137);
    }

    /**
     * Provisioned environments are kept warm: never reaped, never evicted. One started ahead of any request has no
     * Init Duration to report, as on Lambda.
     */
    void markProvisioned(boolean value) {
        provisioned = value;
        if (value && invocations.get() == 0) {
            initReported.set(true);
        }
    }

    public boolean provisioned() {
        return provisioned;
    }

    /** How many invocations this environment runs at once. */
    public int capacity() {
        return version.manifest().concurrency().perEnvironment();
    }

    /** Marks the environment idle after an invocation. */
    void idle() {
        idleSince = System.nanoTime();
        transition(State.IDLE);
    }

    /** Marks an idle environment busy again. */
    void busy() {
        transition(State.BUSY);
    }

    /**
     * Freezes the environment once it has been idle {@link #FREEZE_AFTER_MS}: an idle environment runs nothing, as
     * Lambda freezes one between invocations. One check at a time is pending per environment, moved on while the
     * environment keeps being used (not one timer per invocation, which woke the timer thread on every call). The
     * freezer write is a short write to cgroupfs, done on the timer's platform thread.
     */
    void freezeWhenIdle(java.util.concurrent.ScheduledExecutorService timers) {
        long left = FREEZE_AFTER_NANOS - (System.nanoTime() - idleSince);
        if (freezeCheck.compareAndSet(false, true)) {
            try {
                timers.schedule(() -> freezeIfIdle(timers), Math.max(0, left), TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                freezeCheck.set(false); // the pool is closing: the environment is stopped, not frozen
            }
        }
    }

    private void freezeIfIdle(java.util.concurrent.ScheduledExecutorService timers) {
        freezeCheck.set(false); // before the state is read: a release from now on schedules a check of its own
        freezing.lock();
        try {
            if (state != State.IDLE || frozen || !process.isAlive()) {
                return; // busy (its release asks again), frozen already, or gone
            }
            if (System.nanoTime() - idleSince < FREEZE_AFTER_NANOS) {
                freezeWhenIdle(timers); // used since: look again when it has been idle long enough
            } else {
                if (jvm == null) {
                    jvm = ProcessHandle.of(jvmPid()).orElse(null);
                }
                process.freeze();
                frozen = true;
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "env.freeze-failed function={0} stream={1} error={2}", version.label(), stream,
                    e.getMessage());
        } finally {
            freezing.unlock();
        }
    }

    /**
     * Whether a leased environment can take an invocation, thawing it if it is frozen. A frozen JVM killed by hand
     * (or by the OOM killer's sweep) dies only once thawed, and the sandbox's first step outlives it a moment, so
     * {@link #alive()} alone would send an event to a process about to vanish. For a frozen one this looks at the
     * JVM itself: a terminating signal already pending, or the JVM gone after the thaw, means no. Nothing has been
     * sent yet, so the caller may take another environment.
     */
    public boolean readyToRun() {
        ProcessHandle j = jvm;
        if (!frozen() || j == null) {
            return process.isAlive();
        }
        boolean dying = terminationPending(j.pid());
        thaw();
        return !dying && j.isAlive() && process.isAlive();
    }

    /** SIGHUP, SIGINT, SIGKILL, SIGTERM: signals that end a JVM, as bits of /proc's pending-signal masks. */
    private static final long TERMINATING = 1L << 0 | 1L << 1 | 1L << 8 | 1L << 14;

    /** Whether a signal that ends the process waits for it (a frozen process takes its signals once thawed). */
    static boolean terminationPending(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if ((line.startsWith("SigPnd:") || line.startsWith("ShdPnd:"))
                        && (Long.parseUnsignedLong(line.substring(7).trim(), 16) & TERMINATING) != 0) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return true; // gone
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** Lets a frozen environment run again: before an invocation is sent, and before a stop. */
    private void thaw() {
        freezing.lock();
        try {
            if (frozen) {
                process.thaw();
                frozen = false;
            }
        } finally {
            freezing.unlock();
        }
    }

    /** A training run's archive, once stored: its size; empty if none came within {@code timeoutMs}. */
    Optional<Long> awaitArchive(long timeoutMs) {
        return channel.awaitArchive(timeoutMs);
    }

    /** Whether the environment is frozen now. */
    public boolean frozen() {
        freezing.lock();
        try {
            return frozen;
        } finally {
            freezing.unlock();
        }
    }

    /**
     * Stops the child: closes its channel, which makes the runtime exit, then SIGKILL of the tree after a grace
     * period. Deletes its /tmp. Idempotent.
     */
    void stop() {
        synchronized (this) {
            if (state == State.STOPPING || state == State.STOPPED) {
                return;
            }
            transition(State.STOPPING);
        }
        try {
            thaw(); // a frozen runtime would not see its channel close
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "env.thaw-failed function={0} stream={1} error={2}", version.label(), stream,
                    e.getMessage());
        }
        try {
            process.stdin().close();
        } catch (IOException e) {
            // Already closed: the child is gone or going.
        }
        try {
            process.stop(STOP_GRACE);
        } finally {
            try {
                pump.awaitEof(1_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Trees.deleteQuietly(tmp);
            revokeCredentials.run();
            closePeer.run();
            transition(State.STOPPED);
            LOG.log(Level.DEBUG, "env.stopped function={0} stream={1} invocations={2}", version.label(), stream,
                    invocations.get());
        }
    }

    private synchronized void transition(State next) {
        if (!TRANSITIONS.get(state).contains(next)) {
            throw new IllegalStateException("environment " + stream + ": " + state + " -> " + next
                    + " is not allowed; from " + state + " allowed: " + TRANSITIONS.get(state));
        }
        state = next;
    }

    public String stream() {
        return stream;
    }

    public FunctionVersion version() {
        return version;
    }

    public State state() {
        return state;
    }

    /** The pid of the first step of the sandbox chain (sh, then bubblewrap): what the daemon started. */
    public long pid() {
        return process.pid();
    }

    /**
     * The pid of the function's JVM, or of a Runtime API runtime's first process below the sandbox's steps (as this
     * daemon's pid namespace sees it): what an operator's top, jcmd or kill wants. The sandbox's pid while neither
     * is there.
     */
    public long jvmPid() {
        boolean java = !version.manifest().runtimeKind().runtimeApi();
        return ProcessHandle.of(process.pid()).flatMap(h -> h.descendants()
                .filter(p -> p.info().command().map(c -> java ? c.endsWith("/java") : !SANDBOX_STEPS.contains(
                        Path.of(c).getFileName().toString())).orElse(false)).findFirst())
                .map(ProcessHandle::pid).orElse(process.pid());
    }

    /** The programs of the sandbox's launch chain, above a Runtime API runtime. */
    private static final Set<String> SANDBOX_STEPS = Set.of("bwrap", "setpriv", "sh", "dash", "bash");

    public boolean alive() {
        return process.isAlive();
    }

    public Instant startedAt() {
        return startedAt;
    }

    public Instant lastUsed() {
        return lastUsed;
    }

    public long invocations() {
        return invocations.get();
    }

    /** What the environment uses now: memory, throttled CPU, pids. */
    public Usage usage() {
        return process.usage();
    }

    /** Init duration of this environment's cold start, nanoseconds. */
    public long initNanos() {
        return initNanos;
    }

    private static String streamName(FunctionVersion v, Clock clock) {
        byte[] random = new byte[16];
        ThreadLocalRandom.current().nextBytes(random);
        return STREAM_DATE.format(clock.instant()) + "/[" + v.version() + "]" + HexFormat.of().formatHex(random);
    }
}
