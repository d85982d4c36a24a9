package dev.bramble.daemon.store;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The daemon's schema migrations: {@code db/migration/daemon/V<n>__<name>.sql}, applied in order, each in its own
 * transaction, with the schema version kept in SQLite's {@code PRAGMA user_version}. A database newer than this
 * daemon is refused rather than guessed at. (Why not Flyway here: docs/decisions/0003-daemon-migrations.md.)
 */
final class Migrations {
    /** Every migration, in order; the file names follow Flyway's convention. */
    static final List<String> FILES = List.of(
            "V1__functions_and_logs.sql",
            "V2__function_identities.sql",
            "V3__async_invocations.sql",
            "V4__deployment_agent.sql",
            "V5__alias_routing.sql",
            "V6__test_events.sql");
    private static final String DIR = "db/migration/daemon/";

    private Migrations() {
    }

    /** Brings the database to the newest schema; returns the version it was at. */
    static int migrate(Connection c) throws SQLException {
        int current = userVersion(c);
        if (current == 0) {
            current = adoptFlywayHistory(c);
        }
        if (current > FILES.size()) {
            throw new IllegalStateException("state.db is at schema version " + current + " but this brambled knows "
                    + "versions up to " + FILES.size() + "; run a brambled at least as new as the one that wrote it");
        }
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            for (int v = current + 1; v <= FILES.size(); v++) {
                for (String sql : statements(read(FILES.get(v - 1)))) {
                    s.executeUpdate(sql);
                }
                s.executeUpdate("PRAGMA user_version = " + v);
                c.commit();
            }
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
        return current;
    }

    /**
     * A state.db written by an earlier brambled, which migrated with Flyway, has its version in Flyway's history
     * table instead: take it from there, so its tables are neither created twice nor lost.
     */
    private static int adoptFlywayHistory(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet table = s.executeQuery("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                     + "AND name = 'flyway_schema_history'")) {
            if (!table.next() || table.getInt(1) == 0) {
                return 0;
            }
        }
        int version;
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT MAX(CAST(version AS INTEGER)) FROM flyway_schema_history "
                     + "WHERE success = 1")) {
            version = rs.next() ? rs.getInt(1) : 0;
        }
        try (Statement s = c.createStatement()) {
            s.executeUpdate("PRAGMA user_version = " + version);
        }
        return version;
    }

    static int userVersion(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA user_version")) {
            return rs.next() ? rs.getInt(1) : 0;
        }
    }

    /** Splits a script at semicolons that end a line, dropping {@code --} comment lines. */
    static List<String> statements(String script) {
        StringBuilder clean = new StringBuilder();
        for (String line : script.split("\n")) {
            if (!line.strip().startsWith("--")) {
                clean.append(line.replaceAll("--.*$", "")).append('\n');
            }
        }
        return java.util.Arrays.stream(clean.toString().split(";\\s*\n")).map(String::strip)
                .filter(s -> !s.isEmpty()).map(s -> s.endsWith(";") ? s.substring(0, s.length() - 1) : s).toList();
    }

    private static String read(String file) {
        try (InputStream in = Migrations.class.getClassLoader().getResourceAsStream(DIR + file)) {
            if (in == null) {
                throw new IllegalStateException("migration " + DIR + file + " is missing from the daemon's jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
