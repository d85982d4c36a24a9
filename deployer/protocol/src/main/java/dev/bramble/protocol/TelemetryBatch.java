package dev.bramble.protocol;

import java.util.List;

/**
 * What a device uploads to {@code POST /v1/devices/{id}/telemetry} (gzip-compressed JSON).
 *
 * @param outboxId the device's outbox: sequence numbers count within it, so an outbox created afresh (a wiped disk)
 *                 starts a new count instead of colliding with the old one
 * @param entries  in increasing {@code seq}
 * @param backlog  what the device's outbox held when it sent this batch, this batch included; null from devices
 *                 that do not say
 */
public record TelemetryBatch(String outboxId, List<TelemetryEntry> entries, Backlog backlog) {
    public TelemetryBatch {
        entries = List.copyOf(entries);
    }

    public TelemetryBatch(String outboxId, List<TelemetryEntry> entries) {
        this(outboxId, entries, null);
    }

    /**
     * The device's outbox at upload time: what the fleet console shows of a device's link.
     *
     * @param entries          entries not yet acknowledged
     * @param bytes            their size on the device
     * @param oldestAgeSeconds how long the oldest has waited
     * @param dropped          entries dropped to the cap since the outbox was made
     */
    public record Backlog(long entries, long bytes, long oldestAgeSeconds, long dropped) {
    }
}
