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
import java.util.regex.Pattern;

/**
 * Saved test events, as Lambda's console keeps them: up to {@value #MAX_PER_FUNCTION} per function, each a name and
 * a JSON event, in the device's {@code state.db}. The caller checks that the function exists and the event is JSON;
 * this class holds the limits, which hold under concurrent writers.
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
     * Saves or replaces one event. The transaction writes before it counts, so it holds SQLite's write lock from its
     * first statement: two writers (threads, or connections this class does not know of) cannot both see nine and
     * both add a tenth.
     *
     * @return whether it is new
     * @throws FullException when it is new and the function has its ten already
     */
    public boolean put(String function, String name, String event) {
        try (Connection c = database.connect()) {
            boolean[] created = {false};
            Transactions.run(c, () -> {
                long now = clock.millis();
                try (PreparedStatement s = c.prepareStatement("UPDATE test_events SET event = ?, updated_at = ? "
                        + "WHERE function = ? AND name = ?")) {
                    s.setString(1, event);
                    s.setLong(2, now);
                    s.setString(3, function);
                    s.setString(4, name);
                    if (s.executeUpdate() > 0) {
                        return;
                    }
                }
                try (PreparedStatement s = c.prepareStatement("INSERT INTO test_events (function, name, event, "
                        + "updated_at) VALUES (?, ?, ?, ?)")) {
                    s.setString(1, function);
                    s.setString(2, name);
                    s.setString(3, event);
                    s.setLong(4, now);
                    s.executeUpdate();
                }
                try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*) FROM test_events WHERE function = ?")) {
                    s.setString(1, function);
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        if (rs.getInt(1) > MAX_PER_FUNCTION) {
                            throw new FullException(function); // rolls the insert back
                        }
                    }
                }
                created[0] = true;
            });
            return created[0];
        } catch (SQLException e) {
            throw new StorageException("cannot save test event " + name + " of " + function, e);
        }
    }

    /** Deletes one event; whether there was one. */
    public boolean delete(String function, String name) {
        try (Connection c = database.connect();
             PreparedStatement s = c.prepareStatement("DELETE FROM test_events WHERE function = ? AND name = ?")) {
            s.setString(1, function);
            s.setString(2, name);
            return s.executeUpdate() > 0;
        } catch (SQLException e) {
            throw new StorageException("cannot delete test event " + name + " of " + function, e);
        }
    }
}
