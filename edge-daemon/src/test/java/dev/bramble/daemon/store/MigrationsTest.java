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
    void scriptsSplitIntoStatementsWithoutComments() {
        assertThat(Migrations.statements("""
                -- a comment
                CREATE TABLE a (x INTEGER); -- trailing
                CREATE INDEX a_x ON a (x);
                """)).containsExactly("CREATE TABLE a (x INTEGER)", "CREATE INDEX a_x ON a (x)");
    }
}
