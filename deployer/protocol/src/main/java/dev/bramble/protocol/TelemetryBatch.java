package dev.bramble.protocol;

import java.util.List;

/**
 * What a device uploads to {@code POST /v1/devices/{id}/telemetry} (gzip-compressed JSON).
 *
 * @param outboxId the device's outbox: sequence numbers count within it, so an outbox created afresh (a wiped disk)
 *                 starts a new count instead of colliding with the old one
 * @param entries  in increasing {@code seq}
 */
public record TelemetryBatch(String outboxId, List<TelemetryEntry> entries) {
    public TelemetryBatch {
        entries = List.copyOf(entries);
    }
}
