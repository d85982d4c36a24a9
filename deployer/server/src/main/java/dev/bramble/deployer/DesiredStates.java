package dev.bramble.deployer;

import dev.bramble.protocol.DesiredState;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

import static dev.bramble.deployer.Sql.number;
import static dev.bramble.deployer.Sql.row;
import static dev.bramble.deployer.Sql.rows;
import static dev.bramble.deployer.Sql.update;

/**
 * Each device's desired state (which version of which function it should run, and the rollout that set it) and
 * its revision, which grows with every change; devices long-poll it.
 *
 * <p>A long-poll wakes when its device's desired state changes on any replica. On PostgreSQL every change sends
 * {@code NOTIFY bramble_desired, '<device>'} in its transaction (delivered on commit), and each replica LISTENs on a
 * connection of its own, from a platform thread, and wakes that device's long-polls. On SQLite (one replica) a
 * change wakes this process's long-polls once its transaction has committed. A long-poll also looks again every
 * {@link #BACKSTOP}, in case a notification was lost with a dropped connection.
 */
final class DesiredStates implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DesiredStates.class.getName());
    static final String CHANNEL = "bramble_desired";
    static final Duration BACKSTOP = Duration.ofSeconds(15);
    /** The version of an undeploy: the function must not be on the device. */
    static final int REMOVED = 0;

    private final Database db;
    private final Clock clock;
    /** Device tokens older than this are to be rotated (zero: never by age). */
    private final Duration rotateAfter;
    /**
     * Each waiting device's latch, shared by its long-polls. They park on Helidon's virtual threads: a latch parks,
     * where a monitor's wait would pin a carrier each on JDK 21 (docs/decisions/0006).
     */
    private final Map<String, CountDownLatch> waiting = new ConcurrentHashMap<>();
    private final Thread listener;
    private volatile boolean closed;

    DesiredStates(Database db, Clock clock, Duration rotateAfter) {
        this.db = db;
        this.clock = clock;
        this.rotateAfter = rotateAfter;
        this.listener = db.sqlite() ? null
                : Thread.ofPlatform().name("bramble-desired-listener").daemon(true).unstarted(this::listen);
    }

    /** Starts listening for other replicas' changes (PostgreSQL). */
    DesiredStates start() {
        if (listener != null) {
            listener.start();
        }
        return this;
    }

    @Override
    public void close() {
        closed = true;
        if (listener != null && listener.isAlive()) {
            listener.interrupt();
            try {
                listener.join(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        wakeAll();
    }

    private void listen() {
        while (!closed) {
            try (Connection c = db.connect(); java.sql.Statement st = c.createStatement()) {
                st.execute("LISTEN " + CHANNEL);
                // what changed while this replica was not listening is not known: every long-poll looks again
                wakeAll();
                org.postgresql.PGConnection pg = c.unwrap(org.postgresql.PGConnection.class);
                while (!closed) {
                    org.postgresql.PGNotification[] ns = pg.getNotifications(1_000);
                    if (ns != null) {
                        for (org.postgresql.PGNotification n : ns) {
                            wake(n.getParameter());
                        }
                    }
                }
            } catch (SQLException e) {
                if (closed) {
                    return;
                }
                LOG.log(System.Logger.Level.WARNING, "desired.listen-failed error={0} retry_in_ms=1000", e.toString());
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void wake(String device) {
        CountDownLatch l = waiting.remove(device);
        if (l != null) {
            l.countDown();
        }
    }

    private void wakeAll() {
        for (String device : List.copyOf(waiting.keySet())) {
            wake(device);
        }
    }

    /**
     * Sets one function of a device's desired state ({@link #REMOVED}: the device must delete it; null: the desired
     * state no longer mentions it) and counts the change.
     */
    void set(Connection c, String device, String function, Integer version, String deployment) throws SQLException {
        update(c, "DELETE FROM desired WHERE device = ? AND function = ?", device, function);
        if (version != null) {
            update(c, "INSERT INTO desired (device, function, version, deployment) VALUES (?, ?, ?, ?)", device,
                    function, version, deployment);
        }
        touch(c, device);
    }

    /** {@link #set} for many devices at once, in a few statements per {@link Sql#CHUNK} of them. */
    void setAll(Connection c, List<String> devices, String function, int version, String deployment)
            throws SQLException {
        Sql.chunked(devices, (chunk, marks) -> {
            update(c, "DELETE FROM desired WHERE function = ? AND device IN " + marks, Sql.args(chunk, function));
            update(c, "INSERT INTO desired (device, function, version, deployment) SELECT id, ?, ?, ? FROM devices "
                    + "WHERE id IN " + marks, Sql.args(chunk, function, version, deployment));
            update(c, "UPDATE devices SET revision = revision + 1 WHERE id IN " + marks, chunk.toArray());
            if (!db.sqlite()) {
                try (java.sql.PreparedStatement n = Sql.prepare(c, "SELECT pg_notify(?, id) FROM devices WHERE id IN "
                        + marks, Sql.args(chunk, CHANNEL))) {
                    n.execute();
                }
            }
        });
    }

    /** Counts a change of a device's desired state and wakes its long-polls, on every replica once committed. */
    void touch(Connection c, String device) throws SQLException {
        update(c, "UPDATE devices SET revision = revision + 1 WHERE id = ?", device);
        if (!db.sqlite()) {
            try (java.sql.PreparedStatement n = Sql.prepare(c, "SELECT pg_notify(?, ?)", CHANNEL, device)) {
                n.execute();
            }
        }
    }

    /**
     * Wakes this process's long-polls on SQLite; call after a transaction that changed desired states has
     * committed. (On PostgreSQL the notifications do it, for every replica, and only for the devices changed.)
     */
    void changed() {
        if (db.sqlite()) {
            wakeAll();
        }
    }

    /** A device's desired state, in one query: long-polls read it on every wake, thousands at once in a rollout. */
    DesiredState of(String device) {
        return db.read(c -> {
            List<Map<String, Object>> rs = rows(c, "SELECT dev.revision, dev.rotate_requested, dev.token_issued_at, "
                    + FUNCTION_COLUMNS + " FROM devices dev LEFT JOIN desired d ON d.device = dev.id" + FUNCTION_JOINS
                    + " WHERE dev.id = ? ORDER BY d.function", device);
            if (rs.isEmpty()) {
                throw ApiError.notFound("no device '" + device + "'");
            }
            Map<String, Object> d = rs.getFirst();
            boolean old = !rotateAfter.isZero() && d.get("token_issued_at") != null
                    && clock.millis() - number(d.get("token_issued_at")) > rotateAfter.toMillis();
            List<DesiredState.Function> functions = new ArrayList<>();
            for (Map<String, Object> r : rs) {
                if (r.get("function") != null) {
                    functions.add(function(r));
                }
            }
            return new DesiredState(device, number(d.get("revision")), functions,
                    number(d.get("rotate_requested")) != 0 || old);
        });
    }

    private static final String FUNCTION_COLUMNS = "d.function, d.version, d.deployment, v.sha256, v.signature, "
            + "v.url, b.size";
    private static final String FUNCTION_JOINS = " LEFT JOIN versions v ON v.function = d.function AND v.version = "
            + "d.version LEFT JOIN bundles b ON b.sha256 = v.sha256";

    static List<DesiredState.Function> functions(Connection c, String device) throws SQLException {
        List<DesiredState.Function> out = new ArrayList<>();
        for (Map<String, Object> r : rows(c, "SELECT " + FUNCTION_COLUMNS + " FROM desired d" + FUNCTION_JOINS
                + " WHERE d.device = ? ORDER BY d.function", device)) {
            out.add(function(r));
        }
        return out;
    }

    /** Version 0 is an undeploy: no version row, and the device is told to delete the function. */
    private static DesiredState.Function function(Map<String, Object> r) {
        String function = (String) r.get("function");
        String deployment = (String) r.get("deployment");
        return number(r.get("version")) == REMOVED || r.get("sha256") == null
                ? DesiredState.Function.removal(function, deployment)
                : new DesiredState.Function(function, (int) number(r.get("version")), (String) r.get("sha256"),
                number(r.get("size")), (String) r.get("signature"), r.get("url") != null ? (String) r.get("url")
                : "/v1/bundles/" + r.get("sha256"), deployment);
    }

    /**
     * The desired state once its revision passes {@code after}, or after {@code wait} with the current one. Wakes
     * at once on a change made by any replica.
     */
    DesiredState await(String device, long after, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            // registered before the read, so a change between the read and the wait is not missed
            CountDownLatch latch = waiting.computeIfAbsent(device, k -> new CountDownLatch(1));
            DesiredState d = of(device);
            long left = deadline - System.nanoTime();
            if (d.revision() > after || left <= 0 || closed) {
                return d;
            }
            latch.await(Math.min(left, BACKSTOP.toNanos()), TimeUnit.NANOSECONDS);
        }
    }

    /** Whether a device's desired state names this bundle: the only bundles its token may download. */
    boolean names(String device, String sha256) {
        return db.read(c -> row(c, "SELECT 1 AS hit FROM desired d JOIN versions v ON v.function = d.function AND "
                + "v.version = d.version WHERE d.device = ? AND v.sha256 = ?", device, sha256).isPresent());
    }

    /**
     * Each device's desired functions: version, and the state the device reached in the rollout that set it
     * (null when no rollout did, e.g. after a rollback).
     */
    Map<String, List<Map<String, Object>>> byDevice() {
        return db.read(c -> {
            Map<String, List<Map<String, Object>>> out = new LinkedHashMap<>();
            for (Map<String, Object> r : rows(c, "SELECT d.device, d.function, d.version, d.deployment, dd.state "
                    + "FROM desired d LEFT JOIN deployment_devices dd ON dd.deployment = d.deployment AND "
                    + "dd.device = d.device ORDER BY d.device, d.function")) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("function", r.get("function"));
                m.put("version", number(r.get("version")));
                m.put("deployment", r.get("deployment"));
                m.put("state", r.get("state"));
                out.computeIfAbsent((String) r.get("device"), k -> new ArrayList<>()).add(m);
            }
            return out;
        });
    }
}
