package dev.bramble.deployer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The same tests on a real PostgreSQL, as a fleet runs it. */
class PostgresDeployerTest extends DeployerTests {
    private static Postgres postgres;

    @BeforeAll
    static void start() throws Exception {
        postgres = Postgres.start();
        startDeployer(postgres.url() + "?user=bramble");
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }
}
