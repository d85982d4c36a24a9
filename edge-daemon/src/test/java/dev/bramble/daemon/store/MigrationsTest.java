package dev.bramble.daemon.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Migrations on a real SQLite file. */
class MigrationsTest {
    @TempDir
    Path dir;

    @Test
    void freshDatabaseGetsEveryMigrationOnceAndReopeningChangesNothing() throws Exception {
        Database.open(dir);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("state.db"))) {
            assertThat(Migrations.userVersion(c)).isEqualTo(Migrations.FILES.size());
            try (Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO functions (name, created_at) VALUES ('kept', 1)");
            }
        }
        Database.open(dir);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("state.db"));
             Statement s = c.createStatement(); var rs = s.executeQuery("SELECT name FROM functions")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("kept");
        }
    }

    @Test
    void aDatabaseFromANewerDaemonIsRefusedUntouched() throws Exception {
        Database.open(dir);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("state.db"));
             Statement s = c.createStatement()) {
            s.executeUpdate("PRAGMA user_version = 99");
        }
        assertThatThrownBy(() -> Database.open(dir)).hasMessageContaining("schema version 99")
                .hasMessageContaining("versions up to " + Migrations.FILES.size());
    }

    @Test
    void aDatabaseMigratedByFlywayIsAdoptedWithItsData() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("state.db"));
             Statement s = c.createStatement()) {
            for (String sql : Migrations.statements(new String(getClass().getClassLoader()
                    .getResourceAsStream("db/migration/daemon/V1__functions_and_logs.sql").readAllBytes()))) {
                s.executeUpdate(sql);
            }
            s.executeUpdate("CREATE TABLE flyway_schema_history (installed_rank INT, version TEXT, success BOOLEAN)");
            s.executeUpdate("INSERT INTO flyway_schema_history VALUES (1, '1', 1)");
            s.executeUpdate("INSERT INTO functions (name, created_at) VALUES ('old', 1)");
        }
        Database.open(dir);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("state.db"));
             Statement s = c.createStatement(); var rs = s.executeQuery("SELECT name FROM functions")) {
            assertThat(Migrations.userVersion(c)).isEqualTo(Migrations.FILES.size());
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("old");
        }
    }

    @Test
    void scriptsSplitIntoStatementsWithoutComments() {
        assertThat(Migrations.statements("""
                -- a comment
                CREATE TABLE a (x INTEGER); -- trailing
                CREATE INDEX a_x ON a (x);
                """)).containsExactly("CREATE TABLE a (x INTEGER)", "CREATE INDEX a_x ON a (x)");
    }
}
