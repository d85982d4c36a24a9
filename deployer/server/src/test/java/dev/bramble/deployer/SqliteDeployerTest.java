package dev.bramble.deployer;

import org.junit.jupiter.api.BeforeAll;

/** The deployer on SQLite, its default: one file, nothing to set up. */
class SqliteDeployerTest extends DeployerTests {
    @BeforeAll
    static void start() throws Exception {
        startDeployer("jdbc:sqlite:" + dir.resolve("deployer.db"));
    }
}
