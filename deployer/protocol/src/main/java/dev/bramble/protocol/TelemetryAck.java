package dev.bramble.protocol;

/**
 * The deployer's answer to a telemetry batch.
 *
 * @param ackedSeq   every entry of the outbox up to this sequence number is stored: the device may delete them
 * @param stored     entries of this batch stored now
 * @param duplicates entries of this batch the deployer already had (a batch sent again after a lost answer)
 */
public record TelemetryAck(long ackedSeq, int stored, int duplicates) {
}
