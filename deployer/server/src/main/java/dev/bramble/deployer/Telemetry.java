package dev.bramble.deployer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bramble.protocol.TelemetryAck;
import dev.bramble.protocol.TelemetryBatch;
import dev.bramble.protocol.TelemetryEntry;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;

/**
 * Devices' telemetry: stores uploaded batches exactly once per (device, outbox, sequence number), answers with how
 * far the device's outbox is stored, serves log lines and metric snapshots to the CLI, and deletes what is older
 * than the retention.
 */
final class Telemetry implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Telemetry.class.getName());
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final Pattern OUTBOX_ID = Pattern.compile("[A-Za-z0-9-]{1,64}");
    static final int MAX_ENTRIES = 20_000;
    private static final int MAX_STREAM = 128;

    private final Database db;
    private final Clock clock;
    private final Duration retention;
    private final Thread retainer;
    private volatile boolean closing;
    private final LongAdder storedEntries = new LongAdder();

    Telemetry(Database db, Clock clock, Duration retention) {
        this.db = db;
        this.clock = clock;
        this.retention = retention;
        this.retainer = Thread.ofPlatform().name("bramble-telemetry-retention").daemon(true).unstarted(this::retain);
    }

    Telemetry start() {
        retainer.start();
        return this;
    }

    /** Entries this replica stored since it started (re-sent duplicates not counted), for /metrics. */
    long storedEntries() {
        return storedEntries.sum();
    }

    /**
     * Stores a batch from a device. Entries at or below the outbox's stored sequence number, or already stored by
     * another replica, are counted as duplicates and not stored again.
     */
    TelemetryAck ingest(String device, TelemetryBatch batch) {
        List<String> problems = check(batch);
        if (!problems.isEmpty()) {
            throw new ApiError(400, "InvalidTelemetry", "the telemetry batch is not valid", problems);
        }
        long now = clock.millis();
        TelemetryAck ack = db.tx(c -> {
            try (PreparedStatement s = c.prepareStatement("INSERT INTO telemetry_sources (device, outbox_id, "
                    + "acked_seq, updated_at) VALUES (?, ?, 0, ?) ON CONFLICT (device, outbox_id) DO NOTHING")) {
                s.setString(1, device);
                s.setString(2, batch.outboxId());
                s.setLong(3, now);
                s.executeUpdate();
            }
            long source;
            long acked;
            try (PreparedStatement s = c.prepareStatement("SELECT id, acked_seq FROM telemetry_sources WHERE "
                    + "device = ? AND outbox_id = ?" + (db.sqlite() ? "" : " FOR UPDATE"))) {
                s.setString(1, device);
                s.setString(2, batch.outboxId());
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                    source = rs.getLong(1);
                    acked = rs.getLong(2);
                }
            }
            int stored = store(c, device, source, acked, batch.entries(), now);
            long last = batch.entries().isEmpty() ? acked : Math.max(acked, batch.entries().getLast().seq());
            try (PreparedStatement s = c.prepareStatement("UPDATE telemetry_sources SET acked_seq = ?, "
                    + "updated_at = ?, backlog_entries = ?, backlog_bytes = ?, backlog_oldest_seconds = ?, "
                    + "backlog_dropped = ? WHERE id = ?")) {
                TelemetryBatch.Backlog b = batch.backlog();
                s.setLong(1, last);
                s.setLong(2, now);
                s.setObject(3, b == null ? null : b.entries(), java.sql.Types.BIGINT);
                s.setObject(4, b == null ? null : b.bytes(), java.sql.Types.BIGINT);
                s.setObject(5, b == null ? null : b.oldestAgeSeconds(), java.sql.Types.BIGINT);
                s.setObject(6, b == null ? null : b.dropped(), java.sql.Types.BIGINT);
                s.setLong(7, source);
                s.executeUpdate();
            }
            return new TelemetryAck(last, stored, batch.entries().size() - stored);
        });
        storedEntries.add(ack.stored());
        return ack;
    }

    private static List<String> check(TelemetryBatch batch) {
        List<String> problems = new ArrayList<>();
        if (batch.outboxId() == null || !OUTBOX_ID.matcher(batch.outboxId()).matches()) {
            problems.add("outboxId: '" + batch.outboxId() + "' is not 1 to 64 letters, digits or '-'");
        }
        if (batch.entries().size() > MAX_ENTRIES) {
            problems.add("entries: " + batch.entries().size() + " is more than " + MAX_ENTRIES + " in one batch");
        }
        long previous = 0;
        for (int i = 0; i < batch.entries().size() && problems.size() < 10; i++) {
            TelemetryEntry e = batch.entries().get(i);
            if (e.seq() <= previous) {
                problems.add("entries[" + i + "].seq: " + e.seq() + " must be above the previous entry's, " + previous);
            }
            previous = e.seq();
            if (e.kind() == null) {
                problems.add("entries[" + i + "].kind: missing; allowed: log, metrics, gap");
            }
            if (e.stream() == null || e.stream().isEmpty() || e.stream().length() > MAX_STREAM) {
                problems.add("entries[" + i + "].stream: must be 1 to " + MAX_STREAM + " characters");
            }
            if (e.kind() == TelemetryEntry.Kind.METRICS && e.body() == null) {
                problems.add("entries[" + i + "].body: a metrics entry needs its snapshot");
            }
        }
        return problems;
    }

    private static int store(Connection c, String device, long source, long acked, List<TelemetryEntry> entries,
                             long now) throws SQLException {
        int stored = 0;
        try (PreparedStatement logs = c.prepareStatement("INSERT INTO telemetry_logs (source, seq, device, "
                + "function, kind, ts, log_stream, request_id, message, dropped, received_at) VALUES "
                + "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, seq) DO NOTHING");
             PreparedStatement metrics = c.prepareStatement("INSERT INTO telemetry_metrics (source, seq, device, "
                     + "ts, body, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, seq) DO NOTHING")) {
            for (TelemetryEntry e : entries) {
                if (e.seq() <= acked) {
                    continue;
                }
                if (e.kind() == TelemetryEntry.Kind.METRICS) {
                    metrics.setLong(1, source);
                    metrics.setLong(2, e.seq());
                    metrics.setString(3, device);
                    metrics.setLong(4, e.ts());
                    metrics.setString(5, e.body());
                    metrics.setLong(6, now);
                    metrics.addBatch();
                } else {
                    logs.setLong(1, source);
                    logs.setLong(2, e.seq());
                    logs.setString(3, device);
                    logs.setString(4, e.stream());
                    logs.setString(5, e.kind() == TelemetryEntry.Kind.GAP ? "gap" : "log");
                    logs.setLong(6, e.ts());
                    logs.setString(7, e.logStream());
                    logs.setString(8, e.requestId());
                    logs.setString(9, e.body());
                    logs.setLong(10, e.dropped());
                    logs.setLong(11, now);
                    logs.addBatch();
                }
            }
            for (int n : logs.executeBatch()) {
                stored += n > 0 ? 1 : 0;
            }
            for (int n : metrics.executeBatch()) {
                stored += n > 0 ? 1 : 0;
            }
        }
        return stored;
    }

    /**
     * A function's log lines and gap records on a device, in the device's order.
     *
     * @param sinceMs only lines written at or after this time (device clock)
     * @param afterId only lines after this cursor (the {@code id} of the last line read)
     */
    List<Map<String, Object>> logs(String device, String function, long sinceMs, long afterId, int limit) {
        return logs(device, function, sinceMs, afterId, limit, false);
    }

    /**
     * Log lines of the fleet, oldest first, each with its device and function: every device's, or one device's or
     * one function's. With {@code newest}, the last {@code limit} lines (what a console shows before it follows).
     */
    List<Map<String, Object>> logs(String device, String function, long sinceMs, long afterId, int limit,
                                   boolean newest) {
        return db.read(c -> {
            List<Map<String, Object>> out = new ArrayList<>();
            // Each filter in the SQL only when given, so each shape of the query gets the plan of its index.
            try (PreparedStatement s = c.prepareStatement("SELECT id, kind, ts, log_stream, request_id, message, "
                    + "dropped, device, function FROM telemetry_logs WHERE ts >= ? AND id > ?"
                    + (device == null ? "" : " AND device = ?") + (function == null ? "" : " AND function = ?")
                    + " ORDER BY id" + (newest ? " DESC" : "") + " LIMIT ?")) {
                int i = 1;
                s.setLong(i++, sinceMs);
                s.setLong(i++, afterId);
                if (device != null) {
                    s.setString(i++, device);
                }
                if (function != null) {
                    s.setString(i++, function);
                }
                s.setInt(i, limit);
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        Map<String, Object> m = new LinkedHashMap<>();
                        m.put("id", rs.getLong(1));
                        m.put("kind", rs.getString(2));
                        m.put("timestamp", rs.getLong(3));
                        m.put("logStream", rs.getString(4));
                        m.put("requestId", rs.getString(5));
                        m.put("message", rs.getString(6));
                        if ("gap".equals(rs.getString(2))) {
                            m.put("dropped", rs.getLong(7));
                        }
                        if (device == null) {
                            m.put("device", rs.getString(8));
                        }
                        if (function == null) {
                            m.put("function", rs.getString(9));
                        }
                        out.add(m);
                    }
                }
            }
            return newest ? out.reversed() : out;
        });
    }

    /**
     * Each device's link as its uploads show it: the last upload and what its outbox held then.
     */
    Map<String, Map<String, Object>> links() {
        return db.read(c -> {
            Map<String, Map<String, Object>> out = new LinkedHashMap<>();
            try (PreparedStatement s = c.prepareStatement("SELECT device, updated_at, backlog_entries, backlog_bytes, "
                    + "backlog_oldest_seconds, backlog_dropped FROM telemetry_sources ORDER BY updated_at");
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("lastUpload", java.time.Instant.ofEpochMilli(rs.getLong(2)).toString());
                    if (rs.getObject(3) != null) {
                        m.put("backlog", Map.of("entries", rs.getLong(3), "bytes", rs.getLong(4),
                                "oldestAgeSeconds", rs.getLong(5), "dropped", rs.getLong(6)));
                    }
                    out.put(rs.getString(1), m); // the newest outbox of a device wins
                }
            }
            return out;
        });
    }

    /**
     * The device's latest metrics snapshot, only one function's part when {@code function} is given.
     */
    Map<String, Object> metrics(String device, String function) {
        return db.read(c -> {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("device", device);
            try (PreparedStatement s = c.prepareStatement("SELECT ts, body FROM telemetry_metrics WHERE device = ? "
                    + "ORDER BY id DESC LIMIT 1")) {
                s.setString(1, device);
                try (ResultSet rs = s.executeQuery()) {
                    if (!rs.next()) {
                        out.put("snapshot", null);
                        return out;
                    }
                    out.put("timestamp", Instant.ofEpochMilli(rs.getLong(1)).toString());
                    JsonNode body = JSON.readTree(rs.getString(2));
                    if (function != null && body instanceof ObjectNode o) {
                        JsonNode f = o.path("functions").path(function);
                        o.set("functions", JSON.createObjectNode().set(function, f.isMissingNode() ? null : f));
                    }
                    out.put("snapshot", body);
                } catch (IOException e) {
                    throw new IllegalStateException("a stored snapshot is not JSON: " + e.getMessage(), e);
                }
            }
            return out;
        });
    }

    /** Deletes telemetry received longer ago than the retention, at start and every hour. */
    private void retain() {
        while (!closing) {
            try {
                int n = retainOnce();
                if (n > 0) {
                    LOG.log(Level.INFO, "telemetry.retention deleted={0} retention_days={1}", n, retention.toDays());
                }
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "telemetry.retention-failed error={0}", e.toString());
            }
            try {
                Thread.sleep(Duration.ofHours(1));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Deletes log lines and snapshots received before the retention; returns how many. Each outbox's acknowledged
     * number stays, so an entry sent again after its line was deleted is still a duplicate.
     */
    int retainOnce() {
        long before = clock.millis() - retention.toMillis();
        return db.tx(c -> {
            int deleted = 0;
            for (String table : List.of("telemetry_logs", "telemetry_metrics")) {
                try (PreparedStatement s = c.prepareStatement("DELETE FROM " + table + " WHERE received_at < ?")) {
                    s.setLong(1, before);
                    deleted += s.executeUpdate();
                }
            }
            return deleted;
        });
    }

    @Override
    public void close() {
        closing = true;
        retainer.interrupt();
    }
}
