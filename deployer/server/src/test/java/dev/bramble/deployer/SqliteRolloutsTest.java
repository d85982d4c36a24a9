package dev.bramble.deployer;

import org.junit.jupiter.api.BeforeAll;

/** The rollout tests on a real SQLite file. */
class SqliteRolloutsTest extends RolloutsTests {
    @BeforeAll
    static void start() {
        open("jdbc:sqlite:" + dir.resolve("rollouts.db"));
    }
}
