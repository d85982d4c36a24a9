package dev.bramble.deployer;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * When each device was last heard from, kept in memory and written in batches off the request path.
 *
 * <p>Every authenticated device request marks its device seen. Writing that on each request was a row write per
 * request on the fleet's hottest rows: in a rollout, where every device asks several times within seconds, it was
 * the database's most expensive statement, and it waited on the row locks a release takes. Here a platform thread
 * writes what was marked every {@link #FLUSH}, in device order (the order a release locks them in), as one batch.
 * A device this replica wrote less than {@link #GRAIN} ago is left for later, and a row another replica made fresher
 * than that is not rewritten.
 *
 * <p>So {@code last_seen} lags a request by at most {@code FLUSH + GRAIN} (12 s), inside the shortest online
 * window (long-poll.max-seconds + 15 s, 16 s at least). A replica killed before a flush loses its marks; the devices
 * ask again within a long-poll, there or elsewhere, and are marked again.
 */
final class LastSeen implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(LastSeen.class.getName());
    static final Duration FLUSH = Duration.ofSeconds(2);
    static final Duration GRAIN = Duration.ofSeconds(10);

    private final Database db;
    private final Clock clock;
    private final ConcurrentHashMap<String, Long> marked = new ConcurrentHashMap<>();
    /** When this replica last wrote each device's row: one entry per device it serves, the fleet at most. */
    private final ConcurrentHashMap<String, Long> written = new ConcurrentHashMap<>();
    private final Thread writer;
    private volatile boolean closed;

    LastSeen(Database db, Clock clock) {
        this.db = db;
        this.clock = clock;
        this.writer = Thread.ofPlatform().name("bramble-last-seen").daemon(true).unstarted(this::loop);
    }

    LastSeen start() {
        writer.start();
        return this;
    }

    /** The device made an authenticated request now. */
    void mark(String device) {
        marked.put(device, clock.millis());
    }

    private void loop() {
        while (!closed) {
            try {
                Thread.sleep(FLUSH);
            } catch (InterruptedException e) {
                break;
            }
            flush();
        }
    }

    /** Writes what was marked since the last flush; on failure keeps it for the next. */
    void flush() {
        if (marked.isEmpty()) {
            return;
        }
        Map<String, Long> batch = new TreeMap<>();
        long now = clock.millis();
        for (Map.Entry<String, Long> e : marked.entrySet()) {
            // one written lately waits until the grain has passed; one marked again meanwhile stays for next time
            long at = e.getValue();
            if (now - written.getOrDefault(e.getKey(), Long.MIN_VALUE / 2) >= GRAIN.toMillis()
                    && marked.remove(e.getKey(), at)) {
                batch.put(e.getKey(), at);
            }
        }
        if (batch.isEmpty()) {
            return;
        }
        try {
            db.tx(c -> write(c, batch));
            written.putAll(batch);
        } catch (RuntimeException e) {
            batch.forEach((device, at) -> marked.merge(device, at, Math::max));
            LOG.log(System.Logger.Level.WARNING, "last-seen.write-failed devices={0} error={1}", batch.size(),
                    e.toString());
        }
    }

    private static Void write(Connection c, Map<String, Long> batch) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("UPDATE devices SET last_seen = ? WHERE id = ? AND "
                + "(last_seen IS NULL OR last_seen < ?)")) {
            int n = 0;
            for (Map.Entry<String, Long> e : batch.entrySet()) {
                s.setLong(1, e.getValue());
                s.setString(2, e.getKey());
                s.setLong(3, e.getValue() - GRAIN.toMillis());
                s.addBatch();
                if (++n % Sql.CHUNK == 0) {
                    s.executeBatch();
                }
            }
            s.executeBatch();
        }
        return null;
    }

    /** Stops the writer and writes what is left. */
    @Override
    public void close() {
        closed = true;
        if (writer.isAlive()) {
            writer.interrupt();
            try {
                writer.join(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        flush();
    }
}
