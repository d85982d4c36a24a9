package dev.bramble.deployer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;

import static org.assertj.core.api.Assertions.assertThat;

/** The deployer on SQLite, its default: one file, nothing to set up. */
class SqliteDeployerTest extends DeployerTests {
    @BeforeAll
    static void start() throws Exception {
        startDeployer("jdbc:sqlite:" + dir.resolve("deployer.db"));
    }

    @Test
    void theDatabaseAndTheGeneratedAdminTokenAreReadableByTheOwnerOnly() throws Exception {
        assertThat(mode(dir.resolve("deployer.db"))).isEqualTo("rw-------");
        // A second deployer with defaults: a generated admin token, and a database file someone made 0644.
        Path data = Files.createDirectories(dir.resolve("defaults"));
        Path db = data.resolve("deployer.db");
        Files.createFile(db, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
        Path config = dir.resolve("defaults.yaml");
        Files.writeString(config, "data-dir: " + data + "\nhttp:\n  port: 0\n");
        try (Deployer d = Deployer.start(DeployerConfig.load(config), Clock.systemUTC())) {
            assertThat(mode(db)).isEqualTo("rw-------");
            assertThat(mode(data.resolve("admin.token"))).isEqualTo("rw-------");
            for (String side : new String[]{"deployer.db-wal", "deployer.db-shm"}) {
                if (Files.exists(data.resolve(side))) {
                    assertThat(mode(data.resolve(side))).as(side).isEqualTo("rw-------");
                }
            }
            assertThat(d.port()).isPositive();
        }
    }

    private static String mode(Path file) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
    }
}
