package dev.bramble.sync;

import dev.bramble.protocol.TelemetryEntry;

import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The sync agent: an {@link Outbox} that the daemon appends log lines and metric snapshots to, and an uploader that
 * delivers it to the deployer whenever the link allows. Nothing that appends ever waits on the network; it waits on
 * the disk only when a burst outruns the outbox's writer, 100 ms at most per entry.
 */
public final class SyncAgent implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SyncAgent.class.getName());

    private final Outbox outbox;
    private final Uploader uploader;
    private final Settings settings;
    private final Clock clock;
    private final Thread snapshots;
    private volatile boolean closing;

    /**
     * How the agent behaves.
     *
     * @param outboxFile              the SQLite file of the outbox
     * @param outboxCapBytes          the outbox's disk cap; the oldest entries are dropped beyond it
     * @param batchMaxEntries         entries per upload at most
     * @param batchMaxBytes           uncompressed bytes per upload at most (in the outbox's accounting)
     * @param batchMaxAge             a batch is sent once its oldest entry has waited this long, full or not
     * @param backoffMin              the first wait after a failed upload; it doubles per failure
     * @param backoffMax              the longest wait between attempts
     * @param bandwidthBytesPerSecond compressed bytes per second at most; 0 for no cap
     * @param metricsInterval         how often a metrics snapshot is stored; zero for never
     * @param deployerTls             the TLS context for the deployer (a private CA), or null for the JDK's CAs
     */
    public record Settings(Path outboxFile, long outboxCapBytes, int batchMaxEntries, long batchMaxBytes,
                           Duration batchMaxAge, Duration backoffMin, Duration backoffMax,
                           long bandwidthBytesPerSecond, Duration metricsInterval,
                           javax.net.ssl.SSLContext deployerTls) {
        /** With the JDK's trusted CAs. */
        public Settings(Path outboxFile, long outboxCapBytes, int batchMaxEntries, long batchMaxBytes,
                        Duration batchMaxAge, Duration backoffMin, Duration backoffMax, long bandwidthBytesPerSecond,
                        Duration metricsInterval) {
            this(outboxFile, outboxCapBytes, batchMaxEntries, batchMaxBytes, batchMaxAge, backoffMin, backoffMax,
                    bandwidthBytesPerSecond, metricsInterval, null);
        }
    }

    /**
     * Where uploads go, once the device has an identity.
     *
     * @param deployer the deployer's base URL, without a trailing slash
     * @param deviceId the device's id
     * @param token    its device token
     */
    public record Endpoint(String deployer, String deviceId, String token) {
    }

    private SyncAgent(Settings settings, Outbox outbox, Supplier<Optional<Endpoint>> endpoints,
                      Supplier<String> metrics, Clock clock) {
        this.settings = settings;
        this.outbox = outbox;
        this.clock = clock;
        this.uploader = new Uploader(outbox, settings, endpoints, clock);
        this.snapshots = Thread.ofPlatform().name("bramble-metrics-snapshots").daemon(true)
                .unstarted(() -> snapshotLoop(metrics));
    }

    /**
     * Opens the outbox and starts the uploader (and the metric snapshots, when an interval is set).
     *
     * @param endpoints the deployer and the device's credentials, empty until the device is enrolled
     * @param metrics   a metrics snapshot as JSON
     */
    public static SyncAgent start(Settings settings, Supplier<Optional<Endpoint>> endpoints, Supplier<String> metrics,
                                  Clock clock) {
        Outbox outbox = Outbox.open(settings.outboxFile(), settings.outboxCapBytes());
        SyncAgent agent = new SyncAgent(settings, outbox, endpoints, metrics, clock);
        agent.uploader.start();
        if (!settings.metricsInterval().isZero()) {
            agent.snapshots.start();
        }
        LOG.log(Level.INFO, "sync.started outbox={0} id={1} backlog={2} cap_bytes={3}", settings.outboxFile(),
                outbox.id(), outbox.backlog().entries(), settings.outboxCapBytes());
        return agent;
    }

    /** The outbox, to append to. */
    public Outbox outbox() {
        return outbox;
    }

    /** Sends what is waiting now, without waiting for a full batch's age; tests and shutdown use it. */
    public void nudge() {
        uploader.nudge();
    }

    /** Link state, backlog and the last success, for {@code /v1/status}. */
    public Map<String, Object> status() {
        Uploader.Status u = uploader.status();
        Outbox.Backlog b = outbox.backlog();
        Map<String, Object> backlog = new LinkedHashMap<>();
        backlog.put("entries", b.entries());
        backlog.put("bytes", b.bytes());
        backlog.put("capBytes", b.capBytes());
        backlog.put("configuredCapBytes", b.configuredCapBytes());
        backlog.put("oldestAgeSeconds", b.oldestTs() == 0 ? 0 : Math.max(0, (clock.millis() - b.oldestTs()) / 1000));
        backlog.put("queued", b.queued());
        backlog.put("dropped", b.dropped());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("link", u.link().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
        m.put("lastSuccess", text(u.lastSuccess()));
        m.put("lastAttempt", text(u.lastAttempt()));
        if (u.lastFailure() != null && u.link() == LinkState.OFFLINE) {
            m.put("lastError", Map.of("code", u.lastFailure().name(), "message", u.lastError()));
        }
        m.put("backlog", backlog);
        m.put("outboxId", outbox.id());
        m.put("lastSeq", b.lastSeq());
        m.put("ackedSeq", u.ackedSeq());
        m.put("uploaded", Map.of("entries", u.uploaded(), "duplicates", u.duplicates(), "batches", u.batches(),
                "bytes", u.bytesSent()));
        return m;
    }

    private static String text(Instant i) {
        return i == null ? null : i.toString();
    }

    private void snapshotLoop(Supplier<String> metrics) {
        long period = settings.metricsInterval().toMillis();
        while (!closing) {
            long now = clock.millis();
            // On multiples of the period, so snapshots of a fleet line up and a restart does not shift them.
            long next = (now / period + 1) * period;
            try {
                Thread.sleep(Math.max(1, next - now));
            } catch (InterruptedException e) {
                return;
            }
            if (closing) {
                return;
            }
            try {
                outbox.append(TelemetryEntry.metrics(clock.millis(), metrics.get()));
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "sync.snapshot-failed error={0}", e.toString());
            }
        }
    }

    /** Stops the snapshots and the uploader, then stores what is queued and closes the outbox. Idempotent. */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        snapshots.interrupt();
        uploader.close();
        outbox.close();
        LOG.log(Level.INFO, "sync.stopped");
    }
}
