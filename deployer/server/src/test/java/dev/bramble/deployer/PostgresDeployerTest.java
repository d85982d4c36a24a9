package dev.bramble.deployer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The same tests on a real PostgreSQL, as a fleet runs it, and what only replicas over one database can show. */
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

    @Test
    void aLongPollOnOneReplicaWakesAtOnceWhenAnotherChangesTheDesiredState() throws Exception {
        Path config = dir.resolve("replica-b.yaml");
        Files.writeString(config, """
                data-dir: %s
                http:
                  port: 0
                database:
                  url: "%s"
                admin:
                  token: %s
                long-poll:
                  max-seconds: 30
                """.formatted(dir.resolve("replica-b"), postgres.url() + "?user=bramble", ADMIN));
        try (Deployer b = Deployer.start(DeployerConfig.load(config), Clock.systemUTC())) {
            KeyPair key = signer();
            String fn = unique("hello");
            publish(Files.readAllBytes(bundle(fn, 1)), key);
            String group = unique("replicas");
            String[] device = enrol(group);
            long revision = desired(device).path("revision").asLong();
            CompletableFuture<Response> poll = CompletableFuture.supplyAsync(() -> callOn(b.port(), "GET",
                    "/v1/devices/" + device[0] + "/desired?after=" + revision + "&wait=25", device[1], null));
            Thread.sleep(1_000); // the long-poll is parked on replica b
            assertThat(poll).isNotDone();
            long start = System.nanoTime();
            Response deployed = json("POST", "/v1/deployments", ADMIN, Map.of("function", fn, "target",
                    "group:" + group)); // on replica a
            assertThat(deployed.status()).as(deployed.text()).isEqualTo(201);
            JsonNode woken = poll.get(20, TimeUnit.SECONDS).json();
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(woken.path("revision").asLong()).isGreaterThan(revision);
            assertThat(woken.path("functions").get(0).path("function").asText()).isEqualTo(fn);
            // NOTIFY, not the backstop's look every 15 s (nor the 1 s poll there was before)
            assertThat(took).isLessThan(Duration.ofSeconds(3));
        }
    }
}
