package dev.bramble.deployer;

import org.flywaydb.core.Flyway;
import org.postgresql.ds.PGSimpleDataSource;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;

/**
 * The deployer's database: SQLite (one file, nothing to set up) or PostgreSQL (several replicas), one schema and
 * one code path, migrated by Flyway at start.
 */
final class Database implements AutoCloseable {
    private final DataSource dataSource;
    private final boolean sqlite;
    private final java.util.concurrent.locks.ReentrantLock writes = new java.util.concurrent.locks.ReentrantLock();

    private Database(DataSource dataSource, boolean sqlite) {
        this.dataSource = dataSource;
        this.sqlite = sqlite;
    }

    /**
     * Opens and migrates the database at a JDBC URL ({@code jdbc:sqlite:FILE} or
     * {@code jdbc:postgresql://HOST/DB}).
     */
    static Database open(String url, String user, String password) {
        return open(url, user, password, DEFAULT_POOL);
    }

    /** The connections a replica keeps to PostgreSQL by default (database.pool-size). */
    static final int DEFAULT_POOL = 10;

    /** The same, with at most {@code pool} connections to PostgreSQL, kept open between uses. */
    static Database open(String url, String user, String password, int pool) {
        DataSource ds;
        boolean sqlite = url.startsWith("jdbc:sqlite:");
        if (sqlite) {
            SQLiteConfig config = new SQLiteConfig();
            config.setJournalMode(SQLiteConfig.JournalMode.WAL);
            config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
            config.enforceForeignKeys(true);
            config.setBusyTimeout(10_000);
            SQLiteDataSource s = new SQLiteDataSource(config);
            privateFile(url);
            s.setUrl(url);
            // Opening a SQLite connection reads the schema and sets the pragmas: milliseconds a request need not pay.
            ds = pool(s, Math.min(pool, 4));
        } else if (url.startsWith("jdbc:postgresql:")) {
            PGSimpleDataSource pg = new PGSimpleDataSource();
            pg.setUrl(url);
            if (!user.isEmpty()) {
                pg.setUser(user);
            }
            if (!password.isEmpty()) {
                pg.setPassword(password);
            }
            // A connection per request would cost PostgreSQL a backend process each time; a pool keeps a few open.
            try {
                ds = pool(pg, pool);
            } catch (RuntimeException e) {
                throw new IllegalStateException("database.url: cannot connect to " + url + ": " + e.getMessage(), e);
            }
        } else {
            throw new IllegalArgumentException("database.url '" + url + "' is not supported; use jdbc:sqlite:FILE or "
                    + "jdbc:postgresql://HOST[:PORT]/DATABASE");
        }
        Flyway.configure()
                .dataSource(ds)
                .locations("classpath:db/migration/deployer")
                .placeholders(Map.of("blob", sqlite ? "BLOB" : "BYTEA",
                        "id_column", sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY"))
                .load()
                .migrate();
        return new Database(ds, sqlite);
    }

    private static DataSource pool(DataSource connections, int size) {
        com.zaxxer.hikari.HikariConfig h = new com.zaxxer.hikari.HikariConfig();
        h.setDataSource(connections);
        h.setPoolName("bramble-deployer");
        h.setMaximumPoolSize(size);
        h.setMinimumIdle(Math.min(2, size));
        h.setConnectionTimeout(10_000);
        h.setInitializationFailTimeout(10_000);
        return new com.zaxxer.hikari.HikariDataSource(h);
    }

    /** A unit of work on one connection. */
    @FunctionalInterface
    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * Runs work in one transaction. On SQLite, writes are serialised in this process (SQLite has one writer anyway);
     * on PostgreSQL they run side by side, as they do across replicas: row locks taken in one order, and the
     * schema's constraints, guard what they might race on.
     */
    <T> T tx(Work<T> work) {
        if (sqlite) {
            writes.lock();
        }
        try (Connection c = connect()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (java.sql.SQLTransientConnectionException e) {
            throw busy(e);
        } catch (SQLException e) {
            throw new IllegalStateException("database write failed: " + e.getMessage(), e);
        } finally {
            if (sqlite) {
                writes.unlock();
            }
        }
    }

    /** Closes the pooled connections. */
    @Override
    public void close() {
        if (dataSource instanceof AutoCloseable a) {
            try {
                a.close();
            } catch (Exception e) {
                System.getLogger(Database.class.getName()).log(System.Logger.Level.WARNING,
                        "database.close-failed error={0}", e.toString());
            }
        }
    }

    /** Runs read-only work on a connection of its own. */
    <T> T read(Work<T> work) {
        try (Connection c = connect()) {
            return work.run(c);
        } catch (java.sql.SQLTransientConnectionException e) {
            throw busy(e);
        } catch (SQLException e) {
            throw new IllegalStateException("database read failed: " + e.getMessage(), e);
        }
    }

    /**
     * Every pooled connection stayed busy for the pool's whole wait: the database is the bottleneck right now. A
     * 503 with Retry-After, which devices and the CLI retry, rather than an internal error.
     */
    private static ApiError busy(java.sql.SQLTransientConnectionException e) {
        return new ApiError(503, "Unavailable", "the database is busy (every pooled connection in use for 10 s; "
                + "database.pool-size sets how many): retry shortly");
    }

    Connection connect() throws SQLException {
        return dataSource.getConnection();
    }

    boolean sqlite() {
        return sqlite;
    }

    /**
     * The SQLite file made 0600 before SQLite opens it (its WAL and shared-memory files take the same mode): it holds
     * the bundles, with their environment values, and the token hashes. A file that others could read is tightened.
     */
    private static void privateFile(String url) {
        String path = url.substring("jdbc:sqlite:".length());
        int q = path.indexOf('?');
        path = q >= 0 ? path.substring(0, q) : path;
        if (path.isEmpty() || path.startsWith(":memory:") || path.startsWith("file:")) {
            return;
        }
        java.nio.file.Path file = java.nio.file.Path.of(path);
        dev.bramble.protocol.PrivateFiles.create(file);
        try {
            java.util.Set<java.nio.file.attribute.PosixFilePermission> perms =
                    java.nio.file.Files.getPosixFilePermissions(file);
            java.util.Set<java.nio.file.attribute.PosixFilePermission> owner =
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------");
            if (!owner.containsAll(perms)) {
                java.nio.file.Files.setPosixFilePermissions(file, owner);
                System.getLogger(Database.class.getName()).log(System.Logger.Level.WARNING,
                        "database.tightened file={0} was={1}", file,
                        java.nio.file.attribute.PosixFilePermissions.toString(perms));
            }
        } catch (java.io.IOException | UnsupportedOperationException e) {
            throw new IllegalStateException("cannot make " + file + " private (0600): " + e.getMessage(), e);
        }
    }
}
