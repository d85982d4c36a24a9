package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** brambled as its own process: killed with SIGKILL, restarted, and run as an unprivileged user. */
class DaemonProcessTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static DaemonProcess.Install install;

    @TempDir
    Path dir;

    @BeforeAll
    static void copyInstall() throws IOException {
        // /tmp itself is world-writable; the copy there is readable by the unprivileged user too.
        install = DaemonProcess.Install.inTmp();
    }

    @Test
    void killNineLeavesNoChildAliveAndTheNextStartCleansUpAndServes() throws Exception {
        assumeTrue(Daemons.isRoot(), "cgroups and bubblewrap need root; CI runs this as root");
        Path data = install.root().resolve("kill9-data");
        // No class-data training start: exactly the two environments below run when the daemon is killed.
        String yaml = """
                runtime:
                  class-data-archives: false
                sandbox:
                  require-isolation: true
                  cgroup-name: bramble-kill9-%d
                """.formatted(ProcessHandle.current().pid());
        List<ProcessHandle> children = new ArrayList<>();
        try (DaemonProcess first = DaemonProcess.start(install, data, yaml, List.of(), false)) {
            first.post("/v1/deployments", Files.readAllBytes(Bundles.example("echo")));
            first.post("/v1/deployments", Files.readAllBytes(Bundles.withManifest(Bundles.example("misbehave"), dir,
                    Bundles.misbehave("misbehave", "\"timeoutSeconds\": 60"))));
            assertThat(first.post("/2015-03-31/functions/echo/invocations", "{}".getBytes()).statusCode())
                    .isEqualTo(200);
            Thread.ofVirtual().start(() -> {
                try {
                    first.post("/2015-03-31/functions/misbehave/invocations", "{\"sleepMs\":50000}".getBytes());
                } catch (IOException | RuntimeException expected) {
                    // the daemon dies under this call
                }
            });
            await().atMost(20, SECONDS).until(() -> first.status().get("environments").size() == 2);
            ProcessHandle daemon = first.process().toHandle();
            daemon.descendants().forEach(children::add);
            assertThat(children.stream().filter(p -> p.info().command().orElse("").endsWith("java"))).hasSize(2);
            daemon.destroyForcibly(); // SIGKILL: no shutdown hook runs
            await("every child of the killed daemon to die").atMost(5, SECONDS)
                    .until(() -> children.stream().noneMatch(ProcessHandle::isAlive));
        }
        Path cgroups = Path.of("/sys/fs/cgroup/memory/bramble-kill9-" + ProcessHandle.current().pid());
        try (DaemonProcess second = DaemonProcess.start(install, data, yaml, List.of(), false)) {
            if (Files.isDirectory(cgroups)) {
                try (Stream<Path> left = Files.list(cgroups)) {
                    assertThat(left.filter(Files::isDirectory)).isEmpty();
                }
            }
            HttpResponse<String> echo = second.post("/2015-03-31/functions/echo/invocations", "{\"again\":1}"
                    .getBytes());
            assertThat(echo.statusCode()).isEqualTo(200);
            assertThat(echo.body()).contains("\"again\":1");
        }
    }

    @Test
    void killedAtAnyPointOfADeployTheNextStartKeepsOnlyWholeVersions() throws Exception {
        Path data = install.root().resolve("deploy-kill-data");
        String yaml = "runtime:\n  class-data-archives: false\n";
        // 24 MB that do not compress: receiving, checking, unpacking and storing it each take a while.
        byte[] blob = new byte[24 << 20];
        new java.util.Random(7).nextBytes(blob);
        byte[] bundle = Files.readAllBytes(Bundles.rewrite(Bundles.example("echo"), dir, null,
                java.util.Map.of("data/blob", blob)));
        for (int delayMs : new int[]{30, 120, 250, 400, 600, 900, 1400}) {
            try (DaemonProcess d = DaemonProcess.start(install, data, yaml, List.of(), false)) {
                assertWhole(data, d);
                Thread deploying = Thread.ofVirtual().start(() -> {
                    try {
                        d.post("/v1/deployments", bundle);
                    } catch (IOException | RuntimeException expected) {
                        // the daemon dies under this call
                    }
                });
                Thread.sleep(delayMs);
                d.process().toHandle().destroyForcibly();
                d.process().waitFor(10, SECONDS);
                deploying.join(Duration.ofSeconds(30));
            }
        }
        try (DaemonProcess d = DaemonProcess.start(install, data, yaml, List.of(), false)) {
            assertWhole(data, d);
            assertThat(d.post("/v1/deployments", bundle).statusCode()).isIn(200, 201);
            HttpResponse<String> echo = d.post("/2015-03-31/functions/echo/invocations", "{\"w\":1}".getBytes());
            assertThat(echo.body()).contains("\"w\":1");
        }
    }

    @Test
    void underSystemdsWatchdogTheDaemonPingsWhileItAnswers() throws Exception {
        // systemd-notify stand-in, first on brambled's PATH: it records each WATCHDOG=1.
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path pings = dir.resolve("pings");
        Path notify = Files.writeString(bin.resolve("systemd-notify"), "#!/bin/sh\necho \"$*\" >> " + pings + "\n");
        notify.toFile().setExecutable(true, false);
        java.util.Map<String, String> systemd = java.util.Map.of("WATCHDOG_USEC", "900000",
                "NOTIFY_SOCKET", "/run/systemd/notify", "PATH", bin + ":" + System.getenv("PATH"));
        try (DaemonProcess d = DaemonProcess.start(install, install.root().resolve("watchdog-data"),
                "runtime:\n  class-data-archives: false\n", List.of(), List.of(DaemonProcess.testJava()), systemd,
                false)) {
            await("WATCHDOG=1 every 300 ms").atMost(20, SECONDS).until(() -> Files.exists(pings)
                    && Files.readAllLines(pings).size() >= 5);
            assertThat(Files.readAllLines(pings)).allMatch(l -> l.equals("WATCHDOG=1"));
            assertThat(d.log()).contains("watchdog.started timeout_s=0 interval_ms=300");
        }
    }

    /** No temporary copy or staging tree is left, and every version the daemon lists has its whole bundle. */
    private static void assertWhole(Path data, DaemonProcess d) throws IOException {
        try (Stream<Path> bundles = Files.list(data.resolve("bundles"));
             Stream<Path> functions = Files.list(data.resolve("functions"))) {
            List<Path> zips = bundles.toList();
            assertThat(zips).allSatisfy(z -> assertThat(z.getFileName().toString()).matches("[0-9a-f]{64}\\.zip"));
            for (Path z : zips) {
                assertThat(dev.bramble.protocol.Bundle.sha256(z) + ".zip").isEqualTo(z.getFileName().toString());
            }
            assertThat(functions.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("."));
        }
        com.fasterxml.jackson.databind.JsonNode fns = TestDaemon.JSON.readTree(d.get("/v1/functions"));
        for (com.fasterxml.jackson.databind.JsonNode f : fns.path("functions")) {
            com.fasterxml.jackson.databind.JsonNode one = TestDaemon.JSON.readTree(d.get("/v1/functions/"
                    + f.path("name").asText()));
            for (com.fasterxml.jackson.databind.JsonNode v : one.path("versions")) {
                assertThat(data.resolve("bundles/" + v.path("sha256").asText() + ".zip")).exists();
            }
        }
    }

    @Test
    void aFunctionPrintingHundredsOfMegabytesOnOneLineCostsTheDaemonOneBuffer() throws Exception {
        Path data = install.root().resolve("long-line-data");
        // The daemon's heap as the launcher gives it on a small board: a line held whole would not fit.
        List<String> java = List.of(DaemonProcess.testJava(), "-Xmx64m");
        try (DaemonProcess d = DaemonProcess.start(install, data, """
                runtime:
                  class-data-archives: false
                sandbox:
                  cgroup-name: bramble-long-line-%d
                """.formatted(ProcessHandle.current().pid()), List.of(), java, false)) {
            d.post("/v1/deployments", Files.readAllBytes(Bundles.withManifest(Bundles.example("misbehave"), dir,
                    Bundles.misbehave("shouter", "\"timeoutSeconds\": 60"))));
            HttpResponse<String> r = d.post("/2015-03-31/functions/shouter/invocations",
                    "{\"longLineMb\": 200}".getBytes());
            assertThat(r.statusCode()).as(d.log()).isEqualTo(200);
            assertThat(r.body()).contains("\"longLineMb\":200");
            assertThat(d.healthy()).isTrue();
            await("the lines after it stored").atMost(20, SECONDS).until(() -> d.get(
                    "/v1/functions/shouter/logs?limit=100").contains("after the long line"));
            String logs = d.get("/v1/functions/shouter/logs?limit=100");
            assertThat(logs).containsPattern("x …\\[cut 2097[0-9]{5} bytes\\]");
            assertThat(d.log()).doesNotContain("OutOfMemoryError");
            assertThat(d.post("/2015-03-31/functions/shouter/invocations", "{}".getBytes()).statusCode())
                    .isEqualTo(200);
        }
    }

    @Test
    void aListenerThatCannotStartStopsTheStartWithExitCode4AndSaysWhich() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            for (String http : List.of("port: " + taken.getLocalPort(), "bind: 203.0.113.7")) {
                Path data = install.root().resolve("listener-data-" + http.hashCode());
                try (DaemonProcess d = DaemonProcess.start(install, data, "http:\n  " + http + "\n", List.of(),
                        true)) {
                    assertThat(d.process().waitFor(60, SECONDS)).as(d.log()).isTrue();
                    assertThat(d.process().exitValue()).as(d.log()).isEqualTo(4);
                    assertThat(d.log()).contains("brambled: http.bind/http.port: cannot listen on")
                            .doesNotContain("daemon.ready");
                }
            }
        }
    }

    @Test
    void asAnUnprivilegedUserTheDaemonRunsDegradedAndSaysWhatIsMissing() throws Exception {
        List<String> asNobody = Daemons.isRoot()
                ? List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--")
                : List.of();
        Path data = install.root().resolve("nobody-data");
        Files.createDirectories(data);
        DaemonProcess.open(data);
        try (DaemonProcess d = DaemonProcess.start(install, data, "", asNobody, false)) {
            JsonNode iso = d.status().get("isolation");
            assertThat(iso.get("mode").asText()).isEqualTo("degraded");
            assertThat(iso.get("missing").toString()).contains("tmpfs: needs root").contains("identity: needs root");
            assertThat(d.log()).contains("daemon.isolation mode=degraded");
            d.post("/v1/deployments", Files.readAllBytes(Bundles.example("echo")));
            HttpResponse<String> echo = d.post("/2015-03-31/functions/echo/invocations", "{\"as\":\"nobody\"}"
                    .getBytes());
            assertThat(echo.statusCode()).as(d.log()).isEqualTo(200);
            assertThat(echo.body()).contains("\"as\":\"nobody\"");
        }
        try (DaemonProcess refused = DaemonProcess.start(install, data, """
                sandbox:
                  require-isolation: true
                """, asNobody, true)) {
            assertThat(refused.process().waitFor(30, SECONDS)).isTrue();
            assertThat(refused.process().exitValue()).isEqualTo(3);
            assertThat(refused.log()).contains("isolation is required (sandbox.require-isolation) but not available")
                    .contains("tmpfs: needs root").contains("identity: needs root");
        }
    }

    @Test
    void aSecondDaemonWithTheSameCgroupNameIsRefusedAndTheFirstKeepsItsEnvironments() throws Exception {
        assumeTrue(Daemons.isRoot(), "cgroups need root; CI runs this as root");
        String yaml = """
                runtime:
                  class-data-archives: false
                sandbox:
                  cgroup-name: bramble-twin-%d
                """.formatted(ProcessHandle.current().pid());
        try (DaemonProcess first = DaemonProcess.start(install, install.root().resolve("twin-a"), yaml, List.of(),
                false)) {
            first.post("/v1/deployments", Files.readAllBytes(Bundles.example("echo")));
            assertThat(first.post("/2015-03-31/functions/echo/invocations", "{}".getBytes()).statusCode())
                    .isEqualTo(200);
            long envPid = first.status().get("environments").get(0).get("pid").asLong();
            try (DaemonProcess second = DaemonProcess.start(install, install.root().resolve("twin-b"), yaml,
                    List.of(), true)) {
                assertThat(second.process().waitFor(30, SECONDS)).isTrue();
                assertThat(second.process().exitValue()).isEqualTo(3);
                assertThat(second.log()).contains("sandbox.cgroup-name 'bramble-twin-")
                        .contains("are in use by another brambled (pid " + first.process().pid() + ")")
                        .contains("give each daemon on a host a sandbox.cgroup-name of its own");
            }
            // The refused daemon touched nothing: the first one's environment lives and answers.
            assertThat(ProcessHandle.of(envPid).map(ProcessHandle::isAlive)).contains(true);
            JsonNode env = first.status().get("environments").get(0);
            assertThat(env.get("pid").asLong()).isEqualTo(envPid);
            assertThat(first.post("/2015-03-31/functions/echo/invocations", "{\"twin\":1}".getBytes()).body())
                    .contains("\"twin\":1");
        }
        // Once the first has stopped, the name is free again.
        try (DaemonProcess again = DaemonProcess.start(install, install.root().resolve("twin-b"), yaml, List.of(),
                false)) {
            assertThat(again.healthy()).isTrue();
        }
    }
}
