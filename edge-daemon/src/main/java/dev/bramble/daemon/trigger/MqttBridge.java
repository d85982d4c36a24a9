package dev.bramble.daemon.trigger;

import dev.bramble.daemon.config.Option;
import dev.bramble.daemon.async.QueueFullException;
import dev.bramble.daemon.work.Worker;

import javax.net.SocketFactory;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The daemon's one MQTT connection. A thread of its own connects, reconnects after a loss with exponential backoff
 * and jitter, and keeps the broker's subscriptions equal to what the active triggers want, again after every
 * reconnection. A message is handed to the {@link Handler} (which stores it) and acknowledged only after that
 * returns: a QoS 1 message is never lost between broker and queue. When the queue is full the handler's thread
 * waits, and with it the broker, which holds further messages in the session. A broker that cannot be reached
 * stops nothing else in the daemon.
 */
public final class MqttBridge implements AutoCloseable {
    public static final Option.Text URL = Option.text("mqtt.url", "", "tcp://host:port, ssl://host:port, or empty",
            "the broker MQTT triggers subscribe through; empty lists them as inactive").optional()
            .matching("(tcp|ssl)://[^/\\s]+:[0-9]{1,5}");
    public static final Option.Text PROTOCOL = Option.text("mqtt.protocol", "5", "5 or 3.1.1",
            "MQTT protocol version").matching("5|3\\.1\\.1");
    public static final Option.Text CLIENT_ID = Option.text("mqtt.client-id",
            () -> "bramble-" + dev.bramble.daemon.config.Defaults.hostName(), "bramble-<host name>",
            "1 to 64 letters, digits, '-', '_' or '.'",
            "client id; keep it stable so the broker keeps the session across restarts").matching("[A-Za-z0-9_.-]{1,64}");
    public static final Option.Text USERNAME = Option.text("mqtt.username", "", "a string", "user name, or empty")
            .optional();
    public static final Option.Text PASSWORD = Option.text("mqtt.password", "", "a string", "password, or empty")
            .optional();
    public static final Option.Text TLS_CA = Option.text("mqtt.tls.ca-file", "", "a PEM file, or empty",
            "certificates to trust; empty: the JDK's").optional().readableFile();
    public static final Option.Text TLS_CERT = Option.text("mqtt.tls.cert-file", "", "a PEM file, or empty",
            "client certificate for mutual TLS").optional().readableFile();
    public static final Option.Text TLS_KEY = Option.text("mqtt.tls.key-file", "", "a PEM PKCS#8 file, or empty",
            "the client certificate's key").optional().readableFile();
    public static final Option<Long> SESSION_EXPIRY = Option.longInteger("mqtt.session-expiry-seconds", 604_800L, 0,
            4_294_967_295L, "s",
            "how long the broker keeps the session and its queued QoS 1 messages while the daemon is away");
    public static final Option<Integer> MAX_PAYLOAD = Option.integer("mqtt.max-payload-bytes", 262_144, 1, 786_432,
            "bytes", "larger messages are acknowledged, rejected and counted as dropped");
    public static final Option<Integer> RECONNECT_MIN = Option.integer("mqtt.reconnect-min-ms", 500, 10, 600_000, "ms",
            "first reconnection delay; doubles to the max");
    public static final Option<Integer> RECONNECT_MAX = Option.integer("mqtt.reconnect-max-ms", 30_000, 10,
            3_600_000, "ms", "longest reconnection delay (plus jitter)");

    private static final System.Logger LOG = System.getLogger(MqttBridge.class.getName());
    private static final long CONNECT_TIMEOUT_MS = 10_000;
    private static final long QUEUE_FULL_PAUSE_MS = 200;
    /** How often a connection that looks well is looked at again, should the client miss telling of its loss. */
    private static final Duration IDLE = Duration.ofSeconds(1);
    private static final int OUTBOX = 1_000;

    /**
     * The MQTT connection: the {@code mqtt.*} options.
     *
     * @param url                  {@code tcp://host:port} or {@code ssl://host:port}; empty: MQTT triggers inactive
     * @param protocol             {@code 5} or {@code 3.1.1}
     * @param clientId             the client id, stable across restarts so the broker keeps the session
     * @param username             user name, or empty
     * @param password             password, or empty
     * @param caFile               PEM certificates to trust for {@code ssl://}, or empty for the JDK's
     * @param certFile             PEM client certificate (chain), or empty
     * @param keyFile              PEM PKCS#8 private key of the client certificate, or empty
     * @param sessionExpirySeconds how long the broker keeps the session (and queued QoS 1 messages) while away
     * @param maxPayloadBytes      larger messages are rejected and counted
     * @param reconnectMinMs       first reconnection delay
     * @param reconnectMaxMs       longest reconnection delay
     */
    public record Settings(String url, String protocol, String clientId, String username, String password,
                           String caFile, String certFile, String keyFile, long sessionExpirySeconds,
                           int maxPayloadBytes, int reconnectMinMs, int reconnectMaxMs) {
    }

    /** Stores an arrived message; returns normally only once it is safe to acknowledge. */
    public interface Handler {
        /**
         * @throws QueueFullException when it cannot be stored yet; the bridge waits and tries again
         */
        void handle(MqttLink.Message message);

        /** A message over the size limit, acknowledged and dropped. */
        void oversized(MqttLink.Message message);
    }

    private enum State { CONNECTING, CONNECTED, DISCONNECTED, STOPPED }

    private final Settings settings;
    private final Handler handler;
    private final Clock clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, Integer> wanted = new TreeMap<>();
    private final Map<String, Integer> subscribed = new HashMap<>();
    private final Map<Long, Outgoing> outbox = new LinkedHashMap<>();
    private long nextSeq;
    private final Worker worker;
    /** The wait after the next failed connection; the worker's alone. */
    private long reconnectDelay;
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong oversized = new AtomicLong();
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong publishFailed = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private MqttLink link;
    private volatile State state = State.CONNECTING;
    private volatile Instant since;
    private volatile String lastError = "";
    private boolean lost;
    private boolean closed;

    private MqttBridge(Settings settings, Handler handler, Clock clock) {
        this.settings = settings;
        this.handler = handler;
        this.clock = clock;
        this.since = clock.instant();
        this.reconnectDelay = settings.reconnectMinMs();
        this.worker = Worker.unstarted("bramble-mqtt", this::keepConnected);
    }

    /**
     * A bridge that does not connect until {@link #startConnecting}: with a persistent session the broker delivers what it
     * kept the moment the connection is up, so the handler must know its triggers before then.
     */
    public static MqttBridge create(Settings settings, Handler handler, Clock clock) {
        return new MqttBridge(settings, handler, clock);
    }

    /** Starts connecting in the background; returns at once. */
    public void startConnecting() {
        worker.start();
    }

    /** The subscriptions the active triggers want, filter to QoS; applied now if connected, else on connection. */
    public void subscriptions(Map<String, Integer> filters) {
        lock.lock();
        try {
            wanted.clear();
            wanted.putAll(filters);
        } finally {
            lock.unlock();
        }
        worker.wake();
    }

    /**
     * Publishes a reply or a destination record. It waits in an outbox (up to {@value #OUTBOX} messages, the oldest
     * dropped and counted beyond) until the broker has taken it, and is sent again after a reconnection if the
     * connection went before that: at least once.
     */
    public void publish(String topic, byte[] payload, int qos, Optional<byte[]> correlationData) {
        Outgoing out;
        MqttLink l;
        lock.lock();
        try {
            if (outbox.size() >= OUTBOX) {
                Long oldest = outbox.keySet().iterator().next();
                Outgoing dropped = outbox.remove(oldest);
                publishFailed.incrementAndGet();
                LOG.log(Level.WARNING, "mqtt.outbox-full dropped_topic={0}", dropped.topic());
            }
            out = new Outgoing(nextSeq++, topic, payload, qos, correlationData);
            outbox.put(out.seq(), out);
            l = state == State.CONNECTED ? link : null;
        } finally {
            lock.unlock();
        }
        if (l != null) {
            send(l, out);
        }
    }

    private record Outgoing(long seq, String topic, byte[] payload, int qos, Optional<byte[]> correlation) {
    }

    private void send(MqttLink l, Outgoing out) {
        try {
            l.publish(out.topic(), out.payload(), out.qos(), out.correlation(), ok -> {
                if (ok || l.connected()) {
                    lock.lock();
                    try {
                        if (outbox.remove(out.seq()) != null) {
                            (ok ? published : publishFailed).incrementAndGet();
                        }
                    } finally {
                        lock.unlock();
                    }
                }
            });
        } catch (Exception e) {
            // Stays in the outbox; sent again after the next connection.
            LOG.log(Level.WARNING, "mqtt.publish-deferred topic={0} error={1}", out.topic(), e.toString());
        }
    }

    /** Whether the broker connection is up. */
    public boolean connected() {
        return state == State.CONNECTED;
    }

    /** The worker's step: connects when there is no usable connection, then brings the subscriptions in line. */
    private Duration keepConnected() {
        if (isClosed()) {
            return IDLE;
        }
        if (!connectedLink()) {
            try {
                connect();
                reconnectDelay = settings.reconnectMinMs();
            } catch (Exception e) {
                lastError = describe(e);
                setState(State.DISCONNECTED);
                long delay = reconnectDelay;
                LOG.log(Level.WARNING, "mqtt.connect-failed url={0} error={1} retry_in_ms={2}", settings.url(),
                        lastError, delay);
                reconnectDelay = Math.min(delay * 2, settings.reconnectMaxMs());
                // Half to all of the delay: devices that lost the same broker do not come back in lockstep.
                return Duration.ofMillis(delay / 2 + ThreadLocalRandom.current().nextLong(delay / 2 + 1));
            }
        }
        try {
            reconcile();
        } catch (Exception e) {
            lastError = describe(e);
            LOG.log(Level.WARNING, "mqtt.subscribe-failed error={0}", lastError);
            return Duration.ofMillis(settings.reconnectMinMs());
        }
        lock.lock();
        try {
            return lost || !wanted.equals(subscribed) ? Duration.ZERO : IDLE;
        } finally {
            lock.unlock();
        }
    }

    private boolean connectedLink() {
        lock.lock();
        try {
            return link != null && !lost && link.connected();
        } finally {
            lock.unlock();
        }
    }

    /**
     * A fresh client for every connection: Paho's own reconnection state is not reused, and what it had in flight
     * is in the broker's session (incoming, not yet acknowledged) or in the outbox (outgoing).
     */
    private void connect() throws Exception {
        setState(State.CONNECTING);
        MqttLink old = detach();
        if (old != null) {
            old.close();
            reconnects.incrementAndGet();
        }
        MqttLink l = newLink();
        boolean sessionPresent;
        try {
            sessionPresent = l.connect(CONNECT_TIMEOUT_MS);
        } catch (Exception e) {
            l.close();
            throw e;
        }
        List<Outgoing> pending;
        lock.lock();
        try {
            link = l;
            // Subscribed again on every connection, whether or not the broker kept the session.
            subscribed.clear();
            pending = List.copyOf(outbox.values());
            // In the same hold of the lock as the copy: a reply published a moment later must either be in the
            // copy or see the connection up and send itself. (With the state set after the lock, one published in
            // between was in neither and waited in the outbox for the next reconnection.)
            lastError = "";
            setState(State.CONNECTED);
        } finally {
            lock.unlock();
        }
        LOG.log(Level.INFO, "mqtt.connected url={0} client_id={1} protocol={2} session_present={3} outbox={4}",
                settings.url(), settings.clientId(), settings.protocol(), sessionPresent, pending.size());
        pending.forEach(out -> send(l, out));
    }

    private MqttLink newLink() throws Exception {
        SocketFactory sockets = settings.url().startsWith("ssl://")
                ? NoDelay.tls(dev.bramble.protocol.PemTls.context(settings.caFile(), settings.certFile(),
                        settings.keyFile()).getSocketFactory())
                : NoDelay.plain();
        MqttLink[] self = new MqttLink[1];
        MqttLink.Events events = new MqttLink.Events() {
            @Override
            public void arrived(MqttLink.Message m) {
                deliver(self[0], m);
            }

            @Override
            public void lost(Throwable cause) {
                lock.lock();
                try {
                    if (self[0] != link) {
                        return; // an old client's last word
                    }
                } finally {
                    lock.unlock();
                }
                lastError = describe(cause);
                LOG.log(Level.WARNING, "mqtt.connection-lost error={0}", lastError);
                setState(State.DISCONNECTED);
                markLost();
            }
        };
        self[0] = settings.protocol().equals("5") ? new PahoV5Link(settings, sockets, events)
                : new PahoV3Link(settings, sockets, events);
        return self[0];
    }

    private void reconcile() throws Exception {
        Map<String, Integer> want;
        Map<String, Integer> have;
        MqttLink l;
        lock.lock();
        try {
            want = new TreeMap<>(wanted);
            have = new HashMap<>(subscribed);
            l = link;
        } finally {
            lock.unlock();
        }
        for (Map.Entry<String, Integer> e : want.entrySet()) {
            if (!e.getValue().equals(have.get(e.getKey()))) {
                l.subscribe(e.getKey(), e.getValue());
                LOG.log(Level.INFO, "mqtt.subscribed filter={0} qos={1}", e.getKey(), e.getValue());
                record(e.getKey(), e.getValue());
            }
        }
        for (String filter : have.keySet()) {
            if (!want.containsKey(filter)) {
                l.unsubscribe(filter);
                LOG.log(Level.INFO, "mqtt.unsubscribed filter={0}", filter);
                record(filter, null);
            }
        }
    }

    private void record(String filter, Integer qos) {
        lock.lock();
        try {
            if (qos == null) {
                subscribed.remove(filter);
            } else {
                subscribed.put(filter, qos);
            }
        } finally {
            lock.unlock();
        }
    }

    /** On the client's callback thread: store, then acknowledge. */
    private void deliver(MqttLink from, MqttLink.Message m) {
        received.incrementAndGet();
        if (m.payload().length > settings.maxPayloadBytes()) {
            oversized.incrementAndGet();
            LOG.log(Level.WARNING, "mqtt.oversized topic={0} bytes={1} limit={2}", m.topic(), m.payload().length,
                    settings.maxPayloadBytes());
            handler.oversized(m);
            ack(from, m);
            return;
        }
        while (true) {
            try {
                handler.handle(m);
                break;
            } catch (QueueFullException e) {
                if (isClosed()) {
                    return; // not acknowledged: the broker delivers it again next time
                }
                pause(QUEUE_FULL_PAUSE_MS);
            } catch (RuntimeException e) {
                // Not acknowledged: the broker keeps it in the session and delivers it again after a reconnection.
                LOG.log(Level.ERROR, "mqtt.store-failed topic={0} error={1}", m.topic(), e.toString());
                markLost();
                return;
            }
        }
        ack(from, m);
    }

    /** Acknowledged on the connection it came by; after a reconnection the broker delivers it again instead. */
    private void ack(MqttLink l, MqttLink.Message m) {
        try {
            l.ack(m);
        } catch (Exception e) {
            LOG.log(Level.WARNING, "mqtt.ack-failed topic={0} error={1}", m.topic(), e.toString());
        }
    }

    private boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    private void setState(State s) {
        if (state != s) {
            state = s;
            since = clock.instant();
        }
    }

    private void pause(long ms) {
        lock.lock();
        try {
            if (!closed) {
                changed.await(ms, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    private static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return root == e ? msg : msg + " (" + root + ")";
    }

    /** The connection for {@code /v1/status}: settings, state since when, the last error, what it subscribed, counters. */
    public record Status(String url, String protocol, String clientId, String state, String since, String lastError,
                         Map<String, Integer> subscriptions, long received, long oversized, long published,
                         long publishFailed, long reconnects) implements Triggers.ListenerStatus {
    }

    /** Connection state and counters, for {@code /v1/status}. */
    public Status status() {
        Map<String, Integer> subscriptions;
        lock.lock();
        try {
            subscriptions = new TreeMap<>(subscribed);
        } finally {
            lock.unlock();
        }
        return new Status(settings.url(), settings.protocol(), settings.clientId(), state.name().toLowerCase(),
                since.toString(), lastError, subscriptions, received.get(), oversized.get(), published.get(),
                publishFailed.get(), reconnects.get());
    }

    /** Takes the current client away, for the caller to close outside the lock. */
    private MqttLink detach() {
        lock.lock();
        try {
            MqttLink l = link;
            link = null;
            lost = false;
            return l;
        } finally {
            lock.unlock();
        }
    }

    /** The connection is gone or unusable: the bridge's thread reconnects. */
    private void markLost() {
        lock.lock();
        try {
            lost = true;
        } finally {
            lock.unlock();
        }
        worker.wake();
    }

    /** Disconnects and stops reconnecting. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        worker.close();
        MqttLink l = detach();
        if (l != null) {
            l.close();
        }
        state = State.STOPPED;
    }
}
