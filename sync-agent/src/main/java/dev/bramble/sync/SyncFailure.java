package dev.bramble.sync;

/** Why the last upload failed: codes an operator, the CLI and the deployer can act on. */
public enum SyncFailure {
    /** No connection to the deployer (refused, timed out, DNS). */
    UNREACHABLE,
    /** The deployer refused the device token (401, 403): the device needs enrolling again. */
    UNAUTHORIZED,
    /** The batch was too large for the deployer (413): the uploader halves its batches. */
    TOO_LARGE,
    /** The deployer refused the batch itself (another 4xx). */
    REJECTED,
    /** The deployer failed (5xx). */
    SERVER_ERROR
}
