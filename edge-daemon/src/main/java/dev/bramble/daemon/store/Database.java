package dev.bramble.daemon.store;

import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The daemon's state database, {@code state.db} in the data directory: SQLite in WAL mode with
 * {@code synchronous=NORMAL}, which survives power loss up to the last committed transaction's checkpoint, and
 * schema migrations by {@link Migrations}. Each part of the daemon takes its own connection and is its table's single writer.
 */
public final class Database {
    private static final System.Logger LOG = System.getLogger(Database.class.getName());

    private final SQLiteDataSource dataSource;
    private final Path file;
    private final String replaced;

    private Database(Path file, SQLiteDataSource dataSource, String replaced) {
        this.file = file;
        this.dataSource = dataSource;
        this.replaced = replaced;
    }

    /**
     * Opens (creating if needed) and migrates {@code state.db} in {@code dataDir}. One that is empty or fails
     * SQLite's {@code quick_check} is moved aside ({@code state.db.corrupt-<ms>}, with its WAL) and a new one made:
     * {@link #replaced()} says why, and the registry rebuilds what it can from the stored bundles.
     */
    public static Database open(Path dataDir) {
        Path file = dataDir.resolve("state.db");
        String replaced = null;
        try {
            if (!Files.exists(file)) {
                replaced = "state.db was missing";
            } else if (Files.size(file) == 0) {
                replaced = "state.db was empty";
                moveAside(file, "empty");
            } else {
                String problem = check(file);
                if (problem != null) {
                    Path aside = moveAside(file, "corrupt");
                    replaced = "state.db failed its integrity check (" + problem + "); moved aside to " + aside;
                    LOG.log(System.Logger.Level.ERROR, "state.corrupt file={0} problem={1} moved-to={2}", file,
                            problem, aside);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + file, e);
        }
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        config.enforceForeignKeys(true);
        config.setBusyTimeout(5_000);
        SQLiteDataSource ds = new SQLiteDataSource(config);
        // Created 0600 before SQLite opens it: SQLite gives its WAL and shared-memory files the same mode.
        dev.bramble.protocol.PrivateFiles.create(file);
        ds.setUrl("jdbc:sqlite:" + file);
        try (Connection c = ds.getConnection()) {
            Migrations.migrate(c);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot open or migrate " + file + ": " + e.getMessage(), e);
        }
        return new Database(file, ds, replaced);
    }

    /** SQLite's own verdict on a database file: null when it is sound, else the first problem it names. */
    private static String check(Path file) {
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + file);
             java.sql.Statement s = c.createStatement();
             java.sql.ResultSet rs = s.executeQuery("PRAGMA quick_check")) {
            String first = rs.next() ? rs.getString(1) : "no answer";
            return "ok".equals(first) ? null : first;
        } catch (SQLException e) {
            int primary = e.getErrorCode() & 0xff;
            if (primary == 11 || primary == 26) { // SQLITE_CORRUPT, SQLITE_NOTADB
                return e.getMessage();
            }
            // Busy, locked, unreadable: nothing says the file is bad, so it is not touched.
            throw new IllegalStateException("cannot check " + file + ": " + e.getMessage(), e);
        }
    }

    /** Renames the file and its WAL and shared-memory files out of the way; returns the main file's new name. */
    private static Path moveAside(Path file, String why) throws IOException {
        String suffix = "." + why + "-" + System.currentTimeMillis();
        Path aside = file.resolveSibling(file.getFileName() + suffix);
        for (String part : new String[]{"", "-wal", "-shm"}) {
            Path p = file.resolveSibling(file.getFileName() + part);
            if (Files.exists(p)) {
                Files.move(p, file.resolveSibling(file.getFileName() + suffix + part));
            }
        }
        return aside;
    }

    /**
     * Why this database was made new at this start (missing, empty, or corrupt and moved aside); null when it was
     * opened as it stood.
     */
    public String replaced() {
        return replaced;
    }

    /** Work on a connection. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * Runs {@code work} in one transaction on a connection of its own, and commits; rolls back on any failure
     * ({@link Transactions}). A failed write is an {@link IllegalStateException} that says so.
     */
    public <T> T tx(Work<T> work) {
        try (Connection c = connect()) {
            Object[] result = new Object[1];
            Transactions.run(c, () -> result[0] = work.run(c));
            @SuppressWarnings("unchecked")
            T t = (T) result[0];
            return t;
        } catch (SQLException e) {
            throw new IllegalStateException("state database write failed: " + e.getMessage(), e);
        }
    }

    /** Runs read-only {@code work} on a connection of its own. */
    public <T> T read(Work<T> work) {
        try (Connection c = connect()) {
            return work.run(c);
        } catch (SQLException e) {
            throw new IllegalStateException("state database read failed: " + e.getMessage(), e);
        }
    }

    /** A new connection, for a part that keeps its own (a single writer); the caller closes it. */
    public Connection connect() throws SQLException {
        return dataSource.getConnection();
    }

    /** The database file. */
    public Path file() {
        return file;
    }
}
