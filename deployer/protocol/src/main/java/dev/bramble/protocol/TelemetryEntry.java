package dev.bramble.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One entry of a device's telemetry: a log line, a metrics snapshot, or a gap record saying how many entries of a
 * stream the device had to drop. The device numbers entries in one increasing sequence (not necessarily
 * contiguous: a gap record takes the place of what it replaces); the deployer stores each {@code seq} once.
 *
 * @param seq       the device's sequence number, 0 before the outbox stores it
 * @param stream    what the entry belongs to: a function's name for log lines, {@code $metrics} for snapshots
 * @param kind      log, metrics or gap
 * @param ts        when it was written, epoch milliseconds
 * @param logStream the environment's log stream (log lines), or null
 * @param requestId the invocation a log line belongs to, or null
 * @param body      the line, or the snapshot as JSON; null for a gap
 * @param dropped   for a gap: entries of {@code stream} dropped just before this point; 0 otherwise
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TelemetryEntry(long seq, String stream, Kind kind, long ts, String logStream, String requestId,
                             String body, long dropped) {

    /** The stream of metrics snapshots. */
    public static final String METRICS_STREAM = "$metrics";

    /** What an entry carries. */
    public enum Kind {
        @JsonProperty("log") LOG,
        @JsonProperty("metrics") METRICS,
        @JsonProperty("gap") GAP
    }

    /** A log line of a function, not yet numbered. */
    public static TelemetryEntry log(String function, long ts, String logStream, String requestId, String line) {
        return new TelemetryEntry(0, function, Kind.LOG, ts, logStream, requestId, line, 0);
    }

    /** A metrics snapshot (JSON), not yet numbered. */
    public static TelemetryEntry metrics(long ts, String json) {
        return new TelemetryEntry(0, METRICS_STREAM, Kind.METRICS, ts, null, null, json, 0);
    }

    /** A gap record: {@code dropped} entries of {@code stream} are missing before this point. */
    public static TelemetryEntry gap(long seq, String stream, long ts, long dropped) {
        return new TelemetryEntry(seq, stream, Kind.GAP, ts, null, null, null, dropped);
    }

    /** The same entry with its sequence number. */
    public TelemetryEntry withSeq(long seq) {
        return new TelemetryEntry(seq, stream, kind, ts, logStream, requestId, body, dropped);
    }
}
