/**
 * The daemon's metrics: a Prometheus registry for {@code GET /metrics}, and the JSON snapshots of it that go into
 * the telemetry outbox.
 */
package dev.bramble.daemon.metrics;
