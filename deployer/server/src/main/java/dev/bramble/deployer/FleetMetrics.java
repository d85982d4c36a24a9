package dev.bramble.deployer;

import com.fasterxml.jackson.databind.JsonNode;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.PrometheusNaming;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import static dev.bramble.deployer.Sql.number;
import static dev.bramble.deployer.Sql.rows;
import static dev.bramble.deployer.Sql.tags;

/**
 * {@code GET /metrics}: the deployer's own figures (devices by link, rollouts by state, each open rollout's
 * devices by state, telemetry ingested) and every device's latest metric snapshot, as gauges labelled with the
 * device, its name, group and tags ({@code tag_site="north"}) and the function, so that one Prometheus scrape covers
 * the fleet. Built as the Prometheus Java client's snapshots and written by its text writer.
 *
 * <p>Snapshots are the devices' words: each device's series are capped ({@link #MAX_SERIES_PER_DEVICE}), names are
 * made Prometheus names under {@code bramble_device_}, and only numbers are read, so a hostile device can neither
 * break the exposition nor flood the operator's Prometheus.
 */
final class FleetMetrics {
    static final int MAX_SERIES_PER_DEVICE = 500;
    private static final Pattern NOT_NAME = Pattern.compile("[^a-zA-Z0-9_]");
    private static final PrometheusTextFormatWriter TEXT = PrometheusTextFormatWriter.create();

    private final Database db;
    private final Telemetry telemetry;
    private final long onlineWithinMs;
    private final java.time.Clock clock;

    FleetMetrics(Database db, Telemetry telemetry, long onlineWithinMs, java.time.Clock clock) {
        this.db = db;
        this.telemetry = telemetry;
        this.onlineWithinMs = onlineWithinMs;
        this.clock = clock;
    }

    String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }

    void write(OutputStream out) throws IOException {
        TEXT.write(out, scrape());
    }

    MetricSnapshots scrape() {
        return db.read(c -> {
            List<MetricSnapshot> out = new ArrayList<>();
            long now = clock.millis();
            Map<String, Long> links = new TreeMap<>(Map.of("online", 0L, "offline", 0L, "revoked", 0L));
            Map<String, Map<String, Object>> devices = new LinkedHashMap<>();
            for (Map<String, Object> d : rows(c, "SELECT id, name, grp, tags, last_seen, revoked_at FROM devices")) {
                String link = d.get("revoked_at") != null ? "revoked" : d.get("last_seen") != null
                        && now - number(d.get("last_seen")) <= onlineWithinMs ? "online" : "offline";
                links.merge(link, 1L, Long::sum);
                devices.put((String) d.get("id"), d);
            }
            GaugeSnapshot.Builder devicesByLink = GaugeSnapshot.builder().name("bramble_deployer_devices")
                    .help("Enrolled devices by link: online (polled within long-poll.max-seconds and 15 s), offline, revoked");
            links.forEach((link, n) -> devicesByLink.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                    .labels(Labels.of("link", link)).value(n).build()));
            out.add(devicesByLink.build());

            GaugeSnapshot.Builder rollouts = GaugeSnapshot.builder().name("bramble_deployer_rollouts")
                    .help("Rollouts by state");
            for (dev.bramble.protocol.RolloutState s : dev.bramble.protocol.RolloutState.values()) {
                long n = rows(c, "SELECT COUNT(*) AS n FROM deployments WHERE state = ?", s.wire()).stream()
                        .mapToLong(r -> number(r.get("n"))).sum();
                rollouts.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("state",
                        s.wire())).value(n).build());
            }
            out.add(rollouts.build());

            GaugeSnapshot.Builder open = GaugeSnapshot.builder().name("bramble_deployer_rollout_devices")
                    .help("The devices of each open (in progress or paused) rollout, by their state in it");
            for (Map<String, Object> r : rows(c, "SELECT d.id, d.function, d.version, dd.state, COUNT(*) AS n FROM "
                    + "deployments d JOIN deployment_devices dd ON dd.deployment = d.id WHERE d.state IN (?, ?) "
                    + "GROUP BY d.id, d.function, d.version, dd.state", "in_progress", "paused")) {
                open.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("deployment",
                        (String) r.get("id"), "function", (String) r.get("function"), "version",
                        Long.toString(number(r.get("version"))), "state", (String) r.get("state")))
                        .value(number(r.get("n"))).build());
            }
            out.add(open.build());

            out.add(CounterSnapshot.builder().name("bramble_deployer_telemetry_entries")
                    .help("Telemetry entries (log lines, metric snapshots, gap records) this replica stored")
                    .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(telemetry.storedEntries())
                            .build()).build());

            out.addAll(deviceSnapshots(c, devices));
            return new MetricSnapshots(out);
        });
    }

    /** Each device's latest snapshot: {@code {"daemon": {name: n}, "functions": {f: {name: n or {count, sum}}}}}. */
    private List<MetricSnapshot> deviceSnapshots(java.sql.Connection c, Map<String, Map<String, Object>> devices)
            throws java.sql.SQLException {
        DeviceFamilies families = new DeviceFamilies();
        for (Map<String, Object> r : rows(c, "SELECT m.device, m.body FROM telemetry_metrics m WHERE m.id IN (SELECT "
                + "MAX(id) FROM telemetry_metrics GROUP BY device)")) {
            Map<String, Object> device = devices.get((String) r.get("device"));
            if (device == null || device.get("revoked_at") != null) {
                continue;
            }
            JsonNode body;
            try {
                body = Sql.JSON.readTree((String) r.get("body"));
            } catch (IOException e) {
                continue; // stored as the device sent it; a snapshot that is not JSON has nothing to show
            }
            Labels base = deviceLabels(device);
            families.left = MAX_SERIES_PER_DEVICE;
            families.add(body.path("daemon"), base);
            for (Map.Entry<String, JsonNode> f : body.path("functions").properties()) {
                families.add(f.getValue(), base.add("function", f.getKey()));
            }
        }
        return families.build();
    }

    /**
     * The device families being built: a number is a gauge, {@code {count, sum}} a summary without quantiles. A
     * device's name becomes a Prometheus name ({@code a.b-c} → {@code a_b_c}; {@code _total} and the other reserved
     * suffixes dropped; a number named {@code x_count} or {@code x_sum}, which Prometheus reads as part of a summary,
     * becomes {@code x_count_value}). Two names that come out the same, or one name a gauge here and a summary there,
     * keep the first.
     */
    private static final class DeviceFamilies {
        private final Map<String, GaugeSnapshot.Builder> gauges = new TreeMap<>();
        private final Map<String, SummarySnapshot.Builder> summaries = new TreeMap<>();
        private final java.util.Set<String> seen = new java.util.HashSet<>();
        int left;

        void add(JsonNode values, Labels labels) {
            for (Map.Entry<String, JsonNode> e : values.properties()) {
                JsonNode v = e.getValue();
                String name = name(e.getKey());
                if (left <= 0) {
                    return;
                }
                if (name == null || !seen.add(name + labels)) {
                    continue;
                }
                if (v.isNumber() && !summaries.containsKey(name)) {
                    String gauge = name.endsWith("_count") || name.endsWith("_sum") ? name + "_value" : name;
                    left--;
                    gauges.computeIfAbsent(gauge, n -> GaugeSnapshot.builder().name(n)
                            .help("As the device last reported it")).dataPoint(GaugeSnapshot.GaugeDataPointSnapshot
                            .builder().labels(labels).value(v.asDouble()).build());
                } else if (v.isObject() && v.path("count").canConvertToLong() && v.path("count").asLong() >= 0
                        && v.path("sum").isNumber() && !gauges.containsKey(name)) {
                    left--;
                    summaries.computeIfAbsent(name, n -> SummarySnapshot.builder().name(n)
                            .help("As the device last reported it: how many, and their sum"))
                            .dataPoint(SummarySnapshot.SummaryDataPointSnapshot.builder().labels(labels)
                                    .count(v.path("count").asLong()).sum(v.path("sum").asDouble()).build());
                }
            }
        }

        private static String name(String metric) {
            if (metric.isEmpty() || metric.length() > 100) {
                return null;
            }
            return PrometheusNaming.sanitizeMetricName("bramble_device_" + NOT_NAME.matcher(metric).replaceAll("_"));
        }

        List<MetricSnapshot> build() {
            List<MetricSnapshot> out = new ArrayList<>();
            gauges.values().forEach(b -> out.add(b.build()));
            summaries.values().forEach(b -> out.add(b.build()));
            return out;
        }
    }

    private static Labels deviceLabels(Map<String, Object> d) {
        Labels l = Labels.of("device", (String) d.get("id"), "device_name", d.get("name") == null ? ""
                : (String) d.get("name"), "group", d.get("grp") == null ? "" : (String) d.get("grp"));
        for (Map.Entry<String, String> t : tags((String) d.get("tags")).entrySet()) {
            String label = "tag_" + NOT_NAME.matcher(t.getKey()).replaceAll("_");
            if (!l.contains(label)) {
                l = l.add(label, t.getValue());
            }
        }
        return l;
    }
}
