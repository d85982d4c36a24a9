package dev.bramble.daemon.invoke;

import dev.bramble.daemon.env.Environment;
import dev.bramble.daemon.env.Environments;
import dev.bramble.daemon.env.InitFailedException;
import dev.bramble.daemon.env.Outcome;
import dev.bramble.daemon.env.ThrottledException;
import dev.bramble.daemon.function.FunctionRegistry;
import dev.bramble.daemon.function.FunctionVersion;
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
 * Runs synchronous invocations: resolve the qualifier, take an environment, run, return it, and write Lambda's
 * START, END and REPORT lines around the function's own output.
 */
public final class Invoker {
    /** Dead idle environments passed over for one invocation before it goes to the next one anyway. */
    private static final int MAX_DEAD_LEASES = 3;
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
            return initFailed(v, request.requestId(), e);
        }
        (lease.cold() ? s.coldStarts : s.warmStarts).increment();
        Environment env = lease.env();
        if (env.provisioned()) {
            s.provisionedInvocations.increment();
        }
        String stream = env.stream();
        List<String> lines = new ArrayList<>();
        lines.add(log(v, stream, request.requestId(), "START RequestId: " + request.requestId() + " Version: "
                + v.version()));
        Environment.Result result;
        int concurrent = s.running.incrementAndGet();
        try {
            result = env.invoke(request.requestId(), arn(v.function(), request.qualifier()),
                    request.clientContext(), request.payload(), request.tail());
        } catch (RuntimeException e) {
            environments.release(lease, false);
            throw e;
        } finally {
            s.running.decrementAndGet();
        }
        metrics.invoked(v.function(), result.outcome().durationNanos(), result.initNanos());
        s.maxMemoryBytes.accumulateAndGet(result.peakBytes(), Math::max);
        // Released before the closing log lines are written: the next request need not wait for them.
        environments.release(lease, result.outcome().reusable());
        lines.addAll(result.tail());
        List<String> closing = new ArrayList<>(4);
        byte[] payload;
        boolean error;
        switch (result.outcome()) {
            case Outcome.Completed c -> {
                payload = c.payload();
                error = c.error();
            }
            case Outcome.TimedOut t -> {
                s.timeouts.increment();
                String message = Instant.now(clock).truncatedTo(ChronoUnit.MILLIS) + " " + request.requestId()
                        + " Task timed out after " + String.format(Locale.ROOT, "%.2f", v.manifest().timeoutSeconds()
                        * 1.0) + " seconds";
                closing.add(message);
                payload = Environment.errorJson(null, message);
                error = true;
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
                payload = Environment.errorJson("Runtime.ExitError", message);
                error = true;
            }
        }
        if (error) {
            s.errors.increment();
        }
        history.invoked(v.function(), result.outcome().durationNanos(), error, lease.cold(), concurrent);
        closing.add("END RequestId: " + request.requestId());
        closing.add(report(v, request.requestId(), result.outcome().durationNanos(), result.peakBytes(),
                result.initNanos()));
        result.log().finish(closing);
        lines.addAll(closing);
        return new InvokeResult(v, request.requestId(), payload, error, lines);
    }

    private InvokeResult initFailed(FunctionVersion v, String requestId, InitFailedException e) {
        String stream = e.stream();
        List<String> lines = new ArrayList<>();
        lines.add(log(v, stream, requestId, "START RequestId: " + requestId + " Version: " + v.version()));
        lines.add(log(v, stream, requestId, "INIT_ERROR " + new String(e.error(), StandardCharsets.UTF_8)));
        lines.add(log(v, stream, requestId, "END RequestId: " + requestId));
        lines.add(log(v, stream, requestId, report(v, requestId, 0, 0, e.initNanos())));
        return new InvokeResult(v, requestId, e.error(), true, lines);
    }

    private String log(FunctionVersion v, String stream, String requestId, String line) {
        logs.append(v.function(), stream, requestId, clock.millis(), line);
        return line;
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
