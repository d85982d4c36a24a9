/**
 * Store-and-forward of a device's telemetry: a capped SQLite outbox behind a single writer, and an uploader that
 * delivers it to the deployer exactly once across outages and restarts. Knows nothing of the daemon.
 */
package dev.bramble.sync;
