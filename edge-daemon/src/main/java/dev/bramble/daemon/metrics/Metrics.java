package dev.bramble.daemon.metrics;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.bramble.sandbox.Usage;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Label;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The daemon's metrics in a Prometheus registry (the Prometheus Java client, not a hand-made exposition). Counters
 * that the daemon keeps anyway (per-function counts, trigger counts, the async queue) are read by callbacks at
 * scrape time, so the invoke path pays only for the duration histograms.
 */
public final class Metrics {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final String FUNCTION = "function";

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter text = PrometheusTextFormatWriter.create();
    private final Histogram duration;
    private final Histogram initDuration;

    /**
     * One value of a metric read at scrape time.
     *
     * @param labels the label values, in the order of the metric's label names
     */
    public record Sample(double value, List<String> labels) {
        public static Sample of(double value, String... labels) {
            return new Sample(value, List.of(labels));
        }
    }

    /** Creates the registry with the daemon's own memory gauges and the duration histograms. */
    public Metrics() {
        double[] bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900};
        duration = Histogram.builder().name("bramble_duration_seconds").help("Invocation duration, like Lambda's "
                + "Duration").labelNames(FUNCTION).classicOnly().classicUpperBounds(bounds).register(registry);
        initDuration = Histogram.builder().name("bramble_init_duration_seconds").help("Handler initialisation of a "
                + "cold start").labelNames(FUNCTION).classicOnly().classicUpperBounds(bounds).register(registry);
        GaugeWithCallback.builder().name("bramble_daemon_heap_used_bytes").help("The daemon's own heap in use")
                .callback(cb -> cb.call(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed()))
                .register(registry);
        GaugeWithCallback.builder().name("bramble_daemon_resident_bytes").help("The daemon's resident memory (RSS)")
                .callback(cb -> cb.call(Usage.ofProcess(ProcessHandle.current().pid()).memoryBytes()))
                .register(registry);
    }

    /** Records one invocation's duration, and its initialisation when it was a cold start. */
    public void invoked(String function, long durationNanos, long initNanos) {
        duration.labelValues(function).observe(durationNanos / 1e9);
        if (initNanos >= 0) {
            initDuration.labelValues(function).observe(initNanos / 1e9);
        }
    }

    /**
     * A counter read at scrape time. A {@code function} label makes it a function's metric in snapshots.
     *
     * @param name without {@code _total}, which the exposition adds
     */
    public void counter(String name, String help, List<String> labelNames, Supplier<List<Sample>> samples) {
        CounterWithCallback.builder().name(name).help(help).labelNames(labelNames.toArray(String[]::new))
                .callback(cb -> samples.get().forEach(s -> cb.call(s.value(), s.labels().toArray(String[]::new))))
                .register(registry);
    }

    /** A gauge read at scrape time; see {@link #counter}. */
    public void gauge(String name, String help, List<String> labelNames, Supplier<List<Sample>> samples) {
        GaugeWithCallback.builder().name(name).help(help).labelNames(labelNames.toArray(String[]::new))
                .callback(cb -> samples.get().forEach(s -> cb.call(s.value(), s.labels().toArray(String[]::new))))
                .register(registry);
    }

    /** The Prometheus text exposition of every metric. */
    public void write(OutputStream out) throws IOException {
        text.write(out, registry.scrape());
    }

    /** The content type of {@link #write}. */
    public String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }

    /**
     * Every metric as JSON for the telemetry outbox: {@code {"daemon": {...}, "functions": {"f": {...}}}}, names
     * without the {@code bramble_} prefix, histograms as count and sum, other labels appended to the name.
     */
    public String snapshotJson() {
        Map<String, Object> daemon = new TreeMap<>();
        Map<String, Map<String, Object>> functions = new TreeMap<>();
        for (MetricSnapshot m : registry.scrape()) {
            String base = m.getMetadata().getName().replaceFirst("^bramble_", "");
            for (DataPointSnapshot p : m.getDataPoints()) {
                String function = null;
                StringBuilder name = new StringBuilder(base);
                for (Label l : p.getLabels()) {
                    if (l.getName().equals(FUNCTION)) {
                        function = l.getValue();
                    } else {
                        name.append('.').append(l.getValue());
                    }
                }
                Object value = switch (p) {
                    case CounterSnapshot.CounterDataPointSnapshot c -> c.getValue();
                    case GaugeSnapshot.GaugeDataPointSnapshot g -> g.getValue();
                    case HistogramSnapshot.HistogramDataPointSnapshot h -> Map.of("count", h.getCount(), "sum",
                            h.getSum());
                    default -> null;
                };
                if (value != null) {
                    (function == null ? daemon : functions.computeIfAbsent(function, k -> new TreeMap<>()))
                            .put(name.toString(), value);
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("daemon", daemon);
        out.put("functions", functions);
        try {
            return JSON.writeValueAsString(out);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
