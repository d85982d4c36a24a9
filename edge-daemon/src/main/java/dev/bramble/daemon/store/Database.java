package dev.bramble.daemon.store;

import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The daemon's state database, {@code state.db} in the data directory: SQLite in WAL mode with
 * {@code synchronous=NORMAL}, which survives power loss up to the last committed transaction's checkpoint, and
 * schema migrations by {@link Migrations}. Each part of the daemon takes its own connection and is its table's single writer.
 */
public final class Database {
    private final SQLiteDataSource dataSource;
    private final Path file;

    private Database(Path file, SQLiteDataSource dataSource) {
        this.file = file;
        this.dataSource = dataSource;
    }

    /** Opens (creating if needed) and migrates {@code state.db} in {@code dataDir}. */
    public static Database open(Path dataDir) {
        Path file = dataDir.resolve("state.db");
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
        return new Database(file, ds);
    }

    /** A new connection; the caller closes it. */
    public Connection connect() throws SQLException {
        return dataSource.getConnection();
    }

    /** The database file. */
    public Path file() {
        return file;
    }
}
