package dev.bramble.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Start, stop and restart: state survives, children do not, errors never leak internals. */
class DaemonLifecycleTest {
    @TempDir
    Path dir;

    @Test
    void stoppingTheDaemonLeavesNoChildJvmBehind() {
        // No class-data training start: exactly the two environments below run when the daemon stops.
        TestDaemon d = TestDaemon.start(dir.resolve("data"), "runtime:\n  class-data-archives: false\n");
        d.deployOk(Bundles.example("echo"));
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("misbehave",
                "\"timeoutSeconds\": 30")));
        d.invoke("echo", "{}");
        Thread busy = Thread.ofVirtual().start(() -> {
            try {
                d.invoke("misbehave", "{\"sleepMs\":20000}");
            } catch (RuntimeException expected) {
                // The daemon stops under this call; whatever it answers, if anything, is beside the point.
            }
        });
        // Two environments (beside them, on cgroup v1, the sandbox's freezer watchdog, a shell).
        await().atMost(10, SECONDS).until(() -> dev.bramble.testing.NoLeaks.children().stream()
                .filter(c -> !c.contains("freezer.state")).count() == 2);
        d.close();
        await().atMost(5, SECONDS).until(() -> dev.bramble.testing.NoLeaks.children().isEmpty());
        busy.interrupt();
    }

    @Test
    void functionsSurviveARestart() {
        Path data = dir.resolve("data");
        try (TestDaemon first = TestDaemon.start(data, "")) {
            first.deployOk(Bundles.example("echo"));
            assertThat(first.invoke("echo", "{\"n\":1}").json().get("n").asInt()).isEqualTo(1);
        }
        try (TestDaemon second = TestDaemon.start(data, "")) {
            assertThat(second.invoke("echo", "{\"n\":2}").json().get("n").asInt()).isEqualTo(2);
            assertThat(second.get("/v1/functions/echo/logs").json().at("/events/0/message").asText())
                    .startsWith("START");
        }
    }

    @Test
    void unhandledErrorIsAGeneric500WithoutInternalDetail() throws Exception {
        try (TestDaemon d = TestDaemon.start(dir.resolve("data"), "")) {
            // Make the upload directory unusable: receiving a deployment then fails inside the daemon.
            Path incoming = d.dataDir().resolve("incoming");
            Files.delete(incoming);
            Files.writeString(incoming, "not a directory");
            TestDaemon.Response r = d.deploy(Bundles.example("echo"), "");
            assertThat(r.status()).isEqualTo(500);
            assertThat(r.header("X-Amzn-ErrorType")).contains("ServiceException");
            assertThat(r.json().get("Type").asText()).isEqualTo("Service");
            assertThat(r.json().get("message").asText()).startsWith("internal error ")
                    .doesNotContain("incoming").doesNotContain("Exception").doesNotContain(dir.toString());
            Files.delete(incoming);
            Files.createDirectory(incoming, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            assertThat(d.deploy(Bundles.example("echo"), "").status()).isEqualTo(201);
        }
    }
}
