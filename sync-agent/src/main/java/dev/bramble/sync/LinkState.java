package dev.bramble.sync;

/** The uploader's view of its link to the deployer. */
public enum LinkState {
    /** The device has no identity yet (not enrolled): telemetry is kept until it has one. */
    WAITING_FOR_IDENTITY,
    /** No upload attempted yet since start. */
    IDLE,
    /** The last upload succeeded. */
    ONLINE,
    /** The last upload failed; the next waits out a backoff. */
    OFFLINE
}
