package dev.bramble.daemon;

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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A daemon whose JVM sees two processors holds six warm environments, idles past the virtual-thread scheduler's
 * keep-alive, and then still answers, invokes, deploys and stops on SIGTERM in time. Before the fix a log pump per
 * environment sat in a blocking pipe read on a virtual thread, pinning a carrier; once the carriers the scheduler
 * had added to make up for them were retired, no virtual thread ran again and the daemon hung for good.
 *
 * <p>Each test runs the daemon on this JVM's JDK and, side by side in the same idle window, on JDK 21 (what devices
 * run) when {@code bramble.test.jdk21} names a launcher for it; {@code scripts/test} provides one (scripts/jdk21).
 */
class IdleCarriersTest {
    /**
     * Longer than the scheduler's keep-alive for the carriers it adds (30 s, fixed in the JDK: no option sets it).
     * Idleness is the thing under test, so this is a wall-clock wait; nothing may touch the daemon during it, since
     * any request would keep carriers busy and hide the hang.
     */
    private static final Duration IDLE = Duration.ofSeconds(65);
    /** The unit's TimeoutStopSec: systemd sends SIGKILL after this. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(30);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static DaemonProcess.Install install;

    @TempDir
    Path dir;

    @BeforeAll
    static void copyInstall() throws IOException {
        install = DaemonProcess.Install.inTmp();
    }

    @Test
    void sixIdleEnvironmentsOnTwoProcessorsLeaveTheDaemonAnsweringDeployingAndStopping() throws Exception {
        assumeTrue(Daemons.isRoot(), "cgroups and bubblewrap need root; CI runs this as root");
        onEveryJdk(d -> {
            deploy(d, Bundles.example("hello"));
            deploy(d, Bundles.example("echo"));
            deploy(d, Bundles.withManifest(Bundles.example("misbehave"), dir,
                    Bundles.misbehave("misbehave", "\"timeoutSeconds\": 30")));
            assertThat(invoke(d, "hello", "{}").statusCode()).isEqualTo(200);
            assertThat(invoke(d, "echo", "{}").statusCode()).isEqualTo(200);
            // Four environments of one function, one each of two others.
            concurrently(d, "misbehave", 4, "{\"sleepMs\": 3000}");
        }, List.of("hello", "echo", "misbehave"));
    }

    @Test
    void sixIdleEnvironmentsWritingToStderrAllTheTimeLeaveTheDaemonAnsweringDeployingAndStopping()
            throws Exception {
        assumeTrue(Daemons.isRoot(), "cgroups and bubblewrap need root; CI runs this as root");
        onEveryJdk(d -> {
            deploy(d, Bundles.example("hello"));
            for (String name : List.of("chatty", "chattier")) {
                deploy(d, Bundles.withManifest(Bundles.example("misbehave"), dir,
                        Bundles.misbehave(name, "\"timeoutSeconds\": 30")));
            }
            // Four environments of one function and two of another, each printing a line every 5 ms for good.
            concurrently(d, "chatty", 4, "{\"sleepMs\": 3000, \"chatterMs\": 5}");
            concurrently(d, "chattier", 2, "{\"sleepMs\": 3000, \"chatterMs\": 5}");
        }, List.of("chatty", "chattier"));
    }

    @Test
    void theJdk21LegRuns() throws Exception {
        String jdk21 = System.getProperty("bramble.test.jdk21", "");
        assumeTrue(!jdk21.isBlank(), "no JDK 21 launcher in bramble.test.jdk21; scripts/test provides one");
        Process p = new ProcessBuilder(jdk21, "-version").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, SECONDS)).isTrue();
        assertThat(out).startsWith("openjdk version \"21.");
    }

    /** What brings a daemon to six warm environments. */
    private interface Setup {
        void warm(DaemonProcess d) throws Exception;
    }

    /**
     * Warms a daemon per JDK, idles them together, then checks each: health, an invocation of every function, a
     * deployment, and a stop on SIGTERM within the grace period that leaves no environment behind.
     */
    private void onEveryJdk(Setup setup, List<String> functions) throws Exception {
        List<List<String>> jdks = new ArrayList<>();
        jdks.add(List.of(DaemonProcess.testJava(), "-XX:ActiveProcessorCount=2"));
        String jdk21 = System.getProperty("bramble.test.jdk21", "");
        if (!jdk21.isBlank()) {
            jdks.add(List.of(jdk21, "-XX:ActiveProcessorCount=2"));
        }
        List<DaemonProcess> daemons = new ArrayList<>();
        try {
            for (List<String> java : jdks) {
                daemons.add(start(java));
            }
            List<CompletableFuture<DaemonProcess>> warming = daemons.stream().map(d -> onPlatformThread(() -> {
                setup.warm(d);
                return d;
            })).toList();
            for (CompletableFuture<DaemonProcess> w : warming) {
                unwrap(w);
            }
            for (DaemonProcess d : daemons) {
                await("six warm environments").atMost(30, SECONDS)
                        .until(() -> d.status().get("environments").size() == 6);
            }
            Thread.sleep(IDLE.toMillis());
            List<CompletableFuture<DaemonProcess>> checks = daemons.stream()
                    .map(d -> onPlatformThread(() -> check(d, functions))).toList();
            for (CompletableFuture<DaemonProcess> c : checks) {
                unwrap(c);
            }
        } finally {
            daemons.forEach(DaemonProcess::close);
        }
    }

    private DaemonProcess check(DaemonProcess d, List<String> functions) throws Exception {
        String jdk = d.process().info().commandLine().orElse("?").split(" -")[0];
        assertThat(health(d)).as("health after %s idle (%s)\n%s", IDLE, jdk, d.log()).isEqualTo(200);
        for (String f : functions) {
            assertThat(invoke(d, f, "{}").statusCode()).as("invoke %s after idling", f).isEqualTo(200);
        }
        deploy(d, Bundles.withManifest(Bundles.example("hello"), dir, """
                {"name": "hello", "runtime": "java21", "handler": "dev.bramble.examples.hello.Hello",
                 "memoryMb": 96, "timeoutSeconds": 5}"""));
        assertThat(invoke(d, "hello", "{}").statusCode()).isEqualTo(200);
        List<ProcessHandle> children = d.process().descendants().toList();
        long t0 = System.nanoTime();
        d.process().destroy(); // SIGTERM, as systemd stops the service
        assertThat(d.process().waitFor(STOP_GRACE.toSeconds(), SECONDS))
                .as("brambled stops on SIGTERM within %s\n%s", STOP_GRACE, d.log()).isTrue();
        long stopMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(d.log()).contains("daemon.stopped ms=").doesNotContain("daemon.stop-step-late");
        // The daemon's stop kills every environment's cgroup; the kernel takes a moment to finish them off.
        await("every environment to die with the daemon").atMost(5, SECONDS)
                .until(() -> children.stream().noneMatch(ProcessHandle::isAlive));
        System.out.printf("idle-carriers: %s stopped in %d ms%n", jdk, stopMs);
        return d;
    }

    private DaemonProcess start(List<String> java) throws IOException {
        // The child JVMs run on the daemon's JDK too.
        String yaml = """
                runtime:
                  class-data-archives: false
                  java: %s
                sandbox:
                  require-isolation: true
                  cgroup-name: bramble-idle-%d-%d
                """.formatted(java.get(0), ProcessHandle.current().pid(), System.nanoTime() % 100_000);
        Path data = Files.createTempDirectory(install.root(), "idle-data-");
        return DaemonProcess.start(install, data, yaml, List.of(), java, false);
    }

    private static void deploy(DaemonProcess d, Path bundle) throws IOException {
        HttpResponse<String> r = d.post("/v1/deployments", Files.readAllBytes(bundle));
        assertThat(r.statusCode()).as("deploy: %s", r.body()).isBetween(200, 201);
    }

    /** Calls a function {@code n} times at once, so that it gets {@code n} environments. */
    private static void concurrently(DaemonProcess d, String function, int n, String event) throws Exception {
        List<CompletableFuture<HttpResponse<String>>> calls = IntStream.range(0, n)
                .mapToObj(i -> onPlatformThread(() -> invoke(d, function, event))).toList();
        for (CompletableFuture<HttpResponse<String>> c : calls) {
            HttpResponse<String> r = unwrap(c);
            assertThat(r.statusCode()).as("%s: %s", function, r.body()).isEqualTo(200);
        }
    }

    private static HttpResponse<String> invoke(DaemonProcess d, String function, String event) throws IOException {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(d.base() + "/2015-03-31/functions/" + function
                    + "/invocations")).timeout(Duration.ofSeconds(20))
                    .POST(HttpRequest.BodyPublishers.ofString(event)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static int health(DaemonProcess d) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(d.base() + "/v1/health"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private interface Step<T> {
        T run() throws Exception;
    }

    private static <T> CompletableFuture<T> onPlatformThread(Step<T> step) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread.ofPlatform().daemon(true).start(() -> {
            try {
                f.complete(step.run());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }

    private static <T> T unwrap(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(5, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }
}
