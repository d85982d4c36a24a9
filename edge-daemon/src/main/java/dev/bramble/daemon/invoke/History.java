package dev.bramble.daemon.invoke;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The last hour of each function's invocations, minute by minute, for the console's dashboard: what Lambda's
 * console plots (invocations, errors, throttles, cold starts, duration, concurrent executions), kept by the daemon
 * itself so a device answers without a Prometheus. A function costs one fixed block (60 minutes × a
 * {@value #BINS}-bin duration histogram of ints, about 20 KB) from its first invocation; nothing grows with load.
 * Durations are binned on a log scale 1.25 apart, so a percentile is within 12 % of the true value.
 */
public final class History {
    /** Minutes kept. */
    public static final int MINUTES = 60;
    /** Duration bins: 0.1 ms × 1.25^i, the last one open-ended (past 15 minutes, more than any timeout). */
    static final int BINS = 74;
    private static final double BIN_BASE_NANOS = 100_000;
    private static final double BIN_RATIO = 1.25;
    private static final double LOG_RATIO = Math.log(BIN_RATIO);

    private final Clock clock;
    private final Map<String, Series> functions = new ConcurrentHashMap<>();

    public History(Clock clock) {
        this.clock = clock;
    }

    /** An invocation that ran (or failed to start: {@code durationNanos} 0), with the concurrency it ran at. */
    public void invoked(String function, long durationNanos, boolean error, boolean cold, int concurrent) {
        series(function).invoked(minute(), durationNanos, error, cold, concurrent);
    }

    /** An invocation refused for want of an environment. */
    public void throttled(String function) {
        series(function).throttled(minute());
    }

    private Series series(String function) {
        return functions.computeIfAbsent(function, k -> new Series());
    }

    private long minute() {
        return clock.millis() / 60_000;
    }

    /**
     * The last {@value #MINUTES} minutes, oldest first, per function and for all together: {@code start} (epoch ms
     * of the first minute), {@code stepSeconds}, and per series arrays of {@code invocations}, {@code errors},
     * {@code throttles}, {@code coldStarts}, {@code concurrentMax} and duration {@code avgMs}, {@code p50Ms},
     * {@code p99Ms}, {@code maxMs} (null in a minute without invocations), with the hour's totals in {@code hour}.
     *
     * @param only one function, or null for every one
     */
    public Map<String, Object> view(String only) {
        long last = minute();
        long first = last - MINUTES + 1;
        Minutes total = new Minutes();
        Map<String, Object> byFunction = new TreeMap<>();
        for (Map.Entry<String, Series> e : functions.entrySet()) {
            if (only != null && !only.equals(e.getKey())) {
                continue;
            }
            Minutes m = e.getValue().copy(first);
            total.add(m);
            byFunction.put(e.getKey(), m.json());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("start", first * 60_000);
        out.put("stepSeconds", 60);
        out.put("total", total.json());
        out.put("functions", byFunction);
        return out;
    }

    static int bin(long nanos) {
        if (nanos <= BIN_BASE_NANOS) {
            return 0;
        }
        return Math.min(BINS - 1, (int) Math.ceil(Math.log(nanos / BIN_BASE_NANOS) / LOG_RATIO));
    }

    /** The upper bound of a bin, in ms. */
    static double binMs(int bin) {
        return BIN_BASE_NANOS * Math.pow(BIN_RATIO, bin) / 1e6;
    }

    /** One function's ring of minutes; each slot remembers which minute it holds and is reset when reused. */
    private static final class Series {
        private final long[] minute = new long[MINUTES];
        private final Minutes data = new Minutes();

        Series() {
            Arrays.fill(minute, Long.MIN_VALUE);
        }

        synchronized void invoked(long now, long durationNanos, boolean error, boolean cold, int concurrent) {
            int i = slot(now);
            data.invocations[i]++;
            if (error) {
                data.errors[i]++;
            }
            if (cold) {
                data.coldStarts[i]++;
            }
            data.concurrentMax[i] = Math.max(data.concurrentMax[i], concurrent);
            if (durationNanos > 0) {
                data.timed[i]++;
                data.durationSumNanos[i] += durationNanos;
                data.durationMaxNanos[i] = Math.max(data.durationMaxNanos[i], durationNanos);
                data.bins[i][bin(durationNanos)]++;
            }
        }

        synchronized void throttled(long now) {
            data.throttles[slot(now)]++;
        }

        private int slot(long now) {
            int i = (int) Math.floorMod(now, (long) MINUTES);
            if (minute[i] != now) {
                minute[i] = now;
                data.clear(i);
            }
            return i;
        }

        /** The minutes from {@code first} on, oldest first; slots holding older minutes read as empty. */
        synchronized Minutes copy(long first) {
            Minutes out = new Minutes();
            for (int k = 0; k < MINUTES; k++) {
                long wanted = first + k;
                int i = (int) Math.floorMod(wanted, (long) MINUTES);
                if (minute[i] == wanted) {
                    out.set(k, data, i);
                }
            }
            return out;
        }
    }

    /** Sixty minutes of counters, indexable by slot or by position. */
    private static final class Minutes {
        final long[] invocations = new long[MINUTES];
        final long[] errors = new long[MINUTES];
        final long[] throttles = new long[MINUTES];
        final long[] coldStarts = new long[MINUTES];
        final long[] concurrentMax = new long[MINUTES];
        final long[] timed = new long[MINUTES];
        final long[] durationSumNanos = new long[MINUTES];
        final long[] durationMaxNanos = new long[MINUTES];
        final int[][] bins = new int[MINUTES][BINS];

        void clear(int i) {
            invocations[i] = errors[i] = throttles[i] = coldStarts[i] = concurrentMax[i] = timed[i] = 0;
            durationSumNanos[i] = durationMaxNanos[i] = 0;
            Arrays.fill(bins[i], 0);
        }

        void set(int k, Minutes from, int i) {
            invocations[k] = from.invocations[i];
            errors[k] = from.errors[i];
            throttles[k] = from.throttles[i];
            coldStarts[k] = from.coldStarts[i];
            concurrentMax[k] = from.concurrentMax[i];
            timed[k] = from.timed[i];
            durationSumNanos[k] = from.durationSumNanos[i];
            durationMaxNanos[k] = from.durationMaxNanos[i];
            System.arraycopy(from.bins[i], 0, bins[k], 0, BINS);
        }

        /** Adds another function's minutes; concurrency adds up too, as the device ran both at once at worst. */
        void add(Minutes o) {
            for (int k = 0; k < MINUTES; k++) {
                invocations[k] += o.invocations[k];
                errors[k] += o.errors[k];
                throttles[k] += o.throttles[k];
                coldStarts[k] += o.coldStarts[k];
                concurrentMax[k] += o.concurrentMax[k];
                timed[k] += o.timed[k];
                durationSumNanos[k] += o.durationSumNanos[k];
                durationMaxNanos[k] = Math.max(durationMaxNanos[k], o.durationMaxNanos[k]);
                for (int b = 0; b < BINS; b++) {
                    bins[k][b] += o.bins[k][b];
                }
            }
        }

        Map<String, Object> json() {
            List<Double> avg = new ArrayList<>(MINUTES);
            List<Double> p50 = new ArrayList<>(MINUTES);
            List<Double> p99 = new ArrayList<>(MINUTES);
            List<Double> max = new ArrayList<>(MINUTES);
            int[] hourBins = new int[BINS];
            long hourTimed = 0;
            long hourSum = 0;
            long hourMax = 0;
            for (int k = 0; k < MINUTES; k++) {
                boolean any = timed[k] > 0;
                avg.add(any ? round(durationSumNanos[k] / 1e6 / timed[k]) : null);
                p50.add(any ? percentile(bins[k], timed[k], 0.50, durationMaxNanos[k]) : null);
                p99.add(any ? percentile(bins[k], timed[k], 0.99, durationMaxNanos[k]) : null);
                max.add(any ? round(durationMaxNanos[k] / 1e6) : null);
                for (int b = 0; b < BINS; b++) {
                    hourBins[b] += bins[k][b];
                }
                hourTimed += timed[k];
                hourSum += durationSumNanos[k];
                hourMax = Math.max(hourMax, durationMaxNanos[k]);
            }
            Map<String, Object> hour = new LinkedHashMap<>();
            hour.put("invocations", Arrays.stream(invocations).sum());
            hour.put("errors", Arrays.stream(errors).sum());
            hour.put("throttles", Arrays.stream(throttles).sum());
            hour.put("coldStarts", Arrays.stream(coldStarts).sum());
            hour.put("concurrentMax", Arrays.stream(concurrentMax).max().orElse(0));
            boolean any = hourTimed > 0;
            hour.put("avgMs", any ? round(hourSum / 1e6 / hourTimed) : null);
            hour.put("p50Ms", any ? percentile(hourBins, hourTimed, 0.50, hourMax) : null);
            hour.put("p99Ms", any ? percentile(hourBins, hourTimed, 0.99, hourMax) : null);
            hour.put("maxMs", any ? round(hourMax / 1e6) : null);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("hour", hour);
            out.put("invocations", invocations);
            out.put("errors", errors);
            out.put("throttles", throttles);
            out.put("coldStarts", coldStarts);
            out.put("concurrentMax", concurrentMax);
            out.put("avgMs", avg);
            out.put("p50Ms", p50);
            out.put("p99Ms", p99);
            out.put("maxMs", max);
            return out;
        }

        /** The upper bound of the bin holding the q-quantile, never above the largest duration seen. */
        private static Double percentile(int[] bins, long count, double q, long maxNanos) {
            long rank = Math.max(1, (long) Math.ceil(q * count));
            long seen = 0;
            for (int b = 0; b < BINS; b++) {
                seen += bins[b];
                if (seen >= rank) {
                    return round(Math.min(binMs(b), maxNanos / 1e6));
                }
            }
            return round(maxNanos / 1e6);
        }

        private static double round(double ms) {
            return Math.round(ms * 100) / 100.0;
        }
    }
}
