package dev.bramble.daemon.function;

import dev.bramble.daemon.store.Database;
import dev.bramble.daemon.store.Transactions;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * Saved test events, as Lambda's console keeps them: up to {@value #MAX_PER_FUNCTION} per function, each a name and
 * a JSON event, in the device's {@code state.db}. The caller checks that the function exists and the event is JSON;
 * this class holds the limits that must hold under concurrent writers.
 */
public final class TestEvents {
    /** As many as Lambda's console keeps per function. */
    public static final int MAX_PER_FUNCTION = 10;
    /** Lambda's async payload limit: an event saved here can be sent either way. */
    public static final int MAX_EVENT_BYTES = 256 * 1024;
    /** Lambda's rule for test event names. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,25}");

    private final Database database;
    private final Clock clock;
    private final ReentrantLock writer = new ReentrantLock();

    public TestEvents(Database database, Clock clock) {
        this.database = database;
        this.clock = clock;
    }

    /** A saved event. */
    public record Saved(String name, String event, Instant updatedAt) {
    }

    /** Refused: the function has {@value #MAX_PER_FUNCTION} saved events and this name is not one of them. */
    public static final class FullException extends RuntimeException {
        FullException(String function) {
            super("function " + function + " already has " + MAX_PER_FUNCTION + " saved test events, as many as "
                    + "Lambda keeps; delete one first");
        }
    }

    /** A function's saved events by name. */
    public List<Saved> list(String function) {
        try (Connection c = database.connect();
             PreparedStatement s = c.prepareStatement("SELECT name, event, updated_at FROM test_events "
                     + "WHERE function = ? ORDER BY name")) {
            s.setString(1, function);
            List<Saved> out = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    out.add(new Saved(rs.getString(1), rs.getString(2), Instant.ofEpochMilli(rs.getLong(3))));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("cannot read the test events of " + function, e);
        }
    }

    /**
     * Saves or replaces one event.
     *
     * @return whether it is new
     * @throws FullException when it is new and the function has its ten already
     */
    public boolean put(String function, String name, String event) {
        writer.lock();
        try (Connection c = database.connect()) {
            boolean[] created = {false};
            Transactions.run(c, () -> {
                int count;
                boolean exists;
                try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*), SUM(name = ?) FROM test_events "
                        + "WHERE function = ?")) {
                    s.setString(1, name);
                    s.setString(2, function);
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        count = rs.getInt(1);
                        exists = rs.getInt(2) > 0;
                    }
                }
                if (!exists && count >= MAX_PER_FUNCTION) {
                    throw new FullException(function);
                }
                try (PreparedStatement s = c.prepareStatement("INSERT INTO test_events (function, name, event, "
                        + "updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (function, name) DO UPDATE SET "
                        + "event = excluded.event, updated_at = excluded.updated_at")) {
                    s.setString(1, function);
                    s.setString(2, name);
                    s.setString(3, event);
                    s.setLong(4, clock.millis());
                    s.executeUpdate();
                }
                created[0] = !exists;
            });
            return created[0];
        } catch (SQLException e) {
            throw new StorageException("cannot save test event " + name + " of " + function, e);
        } finally {
            writer.unlock();
        }
    }

    /** Deletes one event; whether there was one. */
    public boolean delete(String function, String name) {
        writer.lock();
        try (Connection c = database.connect();
             PreparedStatement s = c.prepareStatement("DELETE FROM test_events WHERE function = ? AND name = ?")) {
            s.setString(1, function);
            s.setString(2, name);
            return s.executeUpdate() > 0;
        } catch (SQLException e) {
            throw new StorageException("cannot delete test event " + name + " of " + function, e);
        } finally {
            writer.unlock();
        }
    }
}
