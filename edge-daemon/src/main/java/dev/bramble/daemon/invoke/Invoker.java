package dev.bramble.daemon.invoke;

import dev.bramble.daemon.config.Option;
import dev.bramble.daemon.env.Environment;
import dev.bramble.daemon.env.Environments;
import dev.bramble.daemon.env.InitFailedException;
import dev.bramble.daemon.env.Outcome;
import dev.bramble.daemon.env.ThrottledException;
import dev.bramble.daemon.function.FunctionRegistry;
import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.logs.InvocationLog;
import dev.bramble.daemon.logs.LogStore;
import dev.bramble.daemon.metrics.Metrics;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs synchronous invocations: resolve the qualifier, lease an environment, run, hand it back, and close the
 * invocation's log ({@link InvocationLog}: START, the function's lines, END and REPORT) with what happened.
 */
public final class Invoker {
    public static final Option.Text REGION = Option.text("aws.region", "local", "a region name",
            "AWS_REGION for functions, and the region in ARNs");
    public static final Option.Text ACCOUNT_ID = Option.text("aws.account-id", "000000000000", "12 digits",
            "the account id in ARNs").matching("[0-9]{12}");

    /** Dead idle environments passed over for one invocation before it goes to the next one anyway. */
    private static final int MAX_DEAD_LEASES = 3;
    /** How long a caller that wants the log tail waits for the function's output to drain. */
    private static final long TAIL_WAIT_MS = 2_000;
    /** The same, when the environment is gone (timed out, died): what it wrote is in the pipe already, or lost. */
    private static final long TAIL_WAIT_GONE_MS = 200;
    private final FunctionRegistry registry;
    private final Environments environments;
    private final LogStore logs;
    private final Clock clock;
    private final String arnPrefix;
    private final Map<String, FunctionStats> stats = new ConcurrentHashMap<>();
    private final Metrics metrics;
    private final History history;

    public Invoker(FunctionRegistry registry, Environments environments, LogStore logs, Metrics metrics, Clock clock,
                   String region, String accountId) {
        this.registry = registry;
        this.metrics = metrics;
        this.environments = environments;
        this.logs = logs;
        this.clock = clock;
        this.history = new History(clock);
        this.arnPrefix = "arn:aws:lambda:" + region + ":" + accountId + ":function:";
    }

    /** The ARN-shaped id of a function, with a qualifier when one is given. */
    public String arn(String function, String qualifier) {
        return arnPrefix + function + (qualifier == null || qualifier.isEmpty() ? "" : ":" + qualifier);
    }

    /** Resolves without running: what {@code DryRun} checks. */
    public FunctionVersion resolve(String function, String qualifier) {
        return registry.resolve(function, qualifier);
    }

    /**
     * Runs one invocation.
     *
     * @throws dev.bramble.daemon.function.NotFoundException when the function or qualifier does not exist
     * @throws ThrottledException                            when no environment frees up in time
     */
    public InvokeResult invoke(InvokeRequest request) {
        FunctionVersion v = registry.resolve(request.function(), request.qualifier());
        FunctionStats s = stats(v.function());
        s.invocations.increment();
        Environments.Lease lease;
        try {
            lease = environments.acquire(v);
            // An idle environment killed while frozen is found here, before anything is sent: take another.
            for (int tries = 1; !lease.cold() && !lease.env().readyToRun() && tries <= MAX_DEAD_LEASES; tries++) {
                environments.release(lease, false);
                lease = environments.acquire(v);
            }
        } catch (ThrottledException e) {
            s.throttles.increment();
            history.throttled(v.function());
            throw e;
        } catch (InitFailedException e) {
            s.coldStarts.increment();
            s.initErrors.increment();
            s.errors.increment();
            history.invoked(v.function(), 0, true, true, s.running.get() + 1);
            return initFailed(v, request, e);
        }
        (lease.cold() ? s.coldStarts : s.warmStarts).increment();
        Environment env = lease.env();
        if (env.provisioned()) {
            s.provisionedInvocations.increment();
        }
        InvocationLog log = InvocationLog.start(logs, v.function(), env.stream(), request.requestId(), v.version(),
                request.tail(), clock);
        Environment.Result result;
        int concurrent = s.running.incrementAndGet();
        try {
            result = env.invoke(request.requestId(), arn(v.function(), request.qualifier()),
                    request.clientContext(), request.payload(), log);
        } catch (RuntimeException e) {
            environments.release(lease, false);
            throw e;
        } finally {
            s.running.decrementAndGet();
        }
        Outcome outcome = result.outcome();
        metrics.invoked(v.function(), outcome.durationNanos(), result.initNanos());
        s.maxMemoryBytes.accumulateAndGet(result.peakBytes(), Math::max);
        // Released before the closing log lines are written: the next request need not wait for them.
        environments.release(lease, outcome.reusable());
        List<String> closing = new ArrayList<>(4);
        byte[] payload;
        boolean error = true;
        switch (outcome) {
            case Outcome.Completed c -> {
                payload = c.payload();
                error = c.error();
            }
            case Outcome.TooLarge t -> payload = LambdaErrors.responseTooLarge();
            case Outcome.TimedOut t -> {
                s.timeouts.increment();
                String message = Instant.now(clock).truncatedTo(ChronoUnit.MILLIS) + " " + request.requestId()
                        + " Task timed out after " + String.format(Locale.ROOT, "%.2f", v.manifest().timeoutSeconds()
                        * 1.0) + " seconds";
                closing.add(message);
                payload = LambdaErrors.json(null, message);
            }
            case Outcome.Died d -> {
                s.exits.increment();
                String cause = d.exit().describe();
                if (d.oomKilled()) {
                    s.oomKills.increment();
                    cause += " (memory limit " + v.manifest().memoryMb() + " MB reached)";
                }
                String message = "RequestId: " + request.requestId() + " Error: Runtime exited with error: " + cause;
                closing.add(message);
                closing.add("Runtime.ExitError");
                payload = LambdaErrors.json("Runtime.ExitError", message);
            }
        }
        if (error) {
            s.errors.increment();
        }
        history.invoked(v.function(), outcome.durationNanos(), error, lease.cold(), concurrent);
        closing.add("END RequestId: " + request.requestId());
        closing.add(report(v, request.requestId(), outcome.durationNanos(), result.peakBytes(),
                result.initNanos()));
        if (request.tail()) {
            // Only a caller that wants the tail waits for the function's output to drain; for the others the log
            // stores the closing lines after it, whenever that is.
            log.awaitDrained(outcome.reusable() ? TAIL_WAIT_MS : TAIL_WAIT_GONE_MS);
        }
        log.close(closing);
        return new InvokeResult(v, request.requestId(), payload, error, log);
    }

    private InvokeResult initFailed(FunctionVersion v, InvokeRequest request, InitFailedException e) {
        byte[] error = LambdaErrors.initFailed(e);
        InvocationLog log = InvocationLog.start(logs, v.function(), e.stream(), request.requestId(), v.version(),
                request.tail(), clock);
        log.drained(); // the function ran nothing of this invocation
        log.close(List.of("INIT_ERROR " + new String(error, StandardCharsets.UTF_8),
                "END RequestId: " + request.requestId(), report(v, request.requestId(), 0, 0, e.initNanos())));
        return new InvokeResult(v, request.requestId(), error, true, log);
    }

    static String report(FunctionVersion v, String requestId, long durationNanos, long peakBytes, long initNanos) {
        StringBuilder sb = new StringBuilder(200)
                .append("REPORT RequestId: ").append(requestId).append("\tDuration: ");
        millis(sb, durationNanos).append(" ms")
                .append("\tBilled Duration: ").append((durationNanos + 999_999) / 1_000_000).append(" ms")
                .append("\tMemory Size: ").append(v.manifest().memoryMb()).append(" MB")
                .append("\tMax Memory Used: ").append((peakBytes + (1 << 20) - 1) >> 20).append(" MB");
        if (initNanos >= 0) {
            millis(sb.append("\tInit Duration: "), initNanos).append(" ms");
        }
        return sb.toString();
    }

    /** Nanoseconds as milliseconds with two decimals, rounded half up; String.format is too slow for every call. */
    static StringBuilder millis(StringBuilder sb, long nanos) {
        long hundredths = (nanos + 5_000) / 10_000;
        sb.append(hundredths / 100).append('.');
        long frac = hundredths % 100;
        return sb.append(frac < 10 ? "0" : "").append(frac);
    }

    /** Counters of a function. */
    public FunctionStats stats(String function) {
        return stats.computeIfAbsent(function, k -> new FunctionStats());
    }

    /** The last hour, minute by minute. */
    public History history() {
        return history;
    }

    /** Counters of every function invoked since the daemon started. */
    public Map<String, FunctionStats> stats() {
        return Map.copyOf(stats);
    }
}
