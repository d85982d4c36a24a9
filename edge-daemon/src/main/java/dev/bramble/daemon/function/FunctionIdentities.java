package dev.bramble.daemon.function;

import dev.bramble.daemon.store.Database;
import dev.bramble.sandbox.Identity;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The unprivileged uid (and gid, the same number) of each function, allocated from a configured range the first
 * time the function runs and remembered in SQLite, so a function keeps its uid across restarts and no two functions
 * ever share one.
 */
public final class FunctionIdentities {
    private final Database database;
    private final int base;
    private final int count;
    private final Map<String, Identity> cache = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();

    public FunctionIdentities(Database database, int base, int count) {
        this.database = database;
        this.base = base;
        this.count = count;
    }

    /**
     * The function's identity, allocating one if it has none.
     *
     * @throws IllegalStateException when every uid of the range is taken
     */
    public Identity of(String function) {
        Identity known = cache.get(function);
        if (known != null) {
            return known;
        }
        lock.lock();
        try (Connection c = database.connect()) {
            Integer uid = lookup(c, function);
            if (uid == null) {
                uid = allocate(c, function);
            }
            Identity id = new Identity(uid, uid);
            cache.put(function, id);
            return id;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot allocate a uid for " + function + ": " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    private static Integer lookup(Connection c, String function) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT uid FROM function_identities WHERE function = ?")) {
            s.setString(1, function);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? rs.getInt(1) : null;
            }
        }
    }

    private int allocate(Connection c, String function) throws SQLException {
        int uid;
        try (PreparedStatement s = c.prepareStatement("SELECT COALESCE(MAX(uid) + 1, ?) FROM function_identities "
                + "WHERE uid >= ? AND uid < ?")) {
            s.setInt(1, base);
            s.setInt(2, base);
            s.setInt(3, base + count);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                uid = rs.getInt(1);
            }
        }
        if (uid >= base + count) {
            throw new IllegalStateException("every uid from " + base + " to " + (base + count - 1)
                    + " is taken; raise sandbox.uid-count");
        }
        try (PreparedStatement s = c.prepareStatement("INSERT INTO function_identities (function, uid) VALUES (?, ?)")) {
            s.setString(1, function);
            s.setInt(2, uid);
            s.executeUpdate();
        }
        return uid;
    }
}
