package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One function must never hurt the device, the daemon or another function: each misbehaviour is contained by
 * the kernel, in real cgroup v1 (or v2) groups with real child JVMs, and the next call succeeds. Needs root; CI
 * runs it as root, with sandbox.require-isolation so a missing piece fails instead of passing weakly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IsolationTest {
    @TempDir
    static Path dir;
    TestDaemon d;

    @BeforeAll
    void start() {
        assumeTrue(Daemons.isRoot(), "the sandbox needs root (cgroups, mount namespaces, setpriv); "
                + "scripts/test runs as root in CI");
        d = TestDaemon.start(dir.resolve("data"), "", Clock.systemUTC(), true);
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("mb",
                "\"memoryMb\": 96, \"tmpMb\": 16, \"timeoutSeconds\": 10, \"cpus\": 0.25")));
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("other",
                "\"tmpMb\": 16, \"environment\": {\"CANARY\": \"it's from the bundle; $HOME `id`\", "
                        + "\"JAVA_TOOL_OPTIONS\": \"-Dcanary=1\"}")));
        // Room for a JVM and 255 forked processes, so the pids limit, not the memory limit, is what stops them.
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("writer",
                "\"memoryMb\": 256, \"tmpMb\": 8")));
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("forker",
                "\"memoryMb\": 384, \"timeoutSeconds\": 10")));
    }

    @AfterAll
    void stop() {
        if (d != null) {
            d.close();
        }
    }

    @Test
    void isolationIsFull() {
        JsonNode iso = d.get("/v1/status").json().get("isolation");
        assertThat(iso.get("mode").asText()).isEqualTo("full");
        assertThat(iso.get("cgroups").asText()).isIn("v1", "v2");
        assertThat(iso.get("missing")).isEmpty();
    }

    @Test
    void withoutBubblewrapAFunctionStillRunsAsItsOwnUserInItsOwnTmp() throws IOException {
        // Nothing is bound into a mount namespace now: the function's uid walks the host's directories to its code
        // and its /tmp, as it would down /var/lib/bramble. (JUnit makes its temporary directory 0700.)
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        try (TestDaemon bare = TestDaemon.start(dir.resolve("no-bwrap"), "sandbox:\n  bwrap: /nonexistent/bwrap\n",
                Clock.systemUTC(), false)) {
            JsonNode iso = bare.get("/v1/status").json().get("isolation");
            assertThat(iso.get("mode").asText()).isEqualTo("degraded");
            assertThat(iso.get("missing").toString()).contains("bubblewrap not found at /nonexistent/bwrap");
            bare.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("bare", "")));
            TestDaemon.Response r = bare.invoke("bare", "{\"tmpWriteMb\": 1}");
            assertThat(r.header("X-Amz-Function-Error")).as("%s %s", r.text(), r.logTail()).isEmpty();
            assertThat(r.json().get("uid").asInt()).isNotZero();
            assertThat(r.json().at("/tmpWriteMb/writtenMb").asInt()).as(r.text()).isEqualTo(1);
            assertThat(r.json().at("/tmpWriteMb/path").asText()).startsWith(bare.dataDir().resolve("run") + "/");
        }
    }

    @Test
    void memoryPastTheLimitIsKilledByTheKernelAndReported() {
        TestDaemon.Response r = d.invoke("mb", "{\"allocMb\":300}");
        String id = r.header("X-Amzn-RequestId").orElseThrow();
        assertThat(r.header("X-Amz-Function-Error")).contains("Unhandled");
        assertThat(r.json().get("errorType").asText()).isEqualTo("Runtime.ExitError");
        assertThat(r.json().get("errorMessage").asText()).isEqualTo("RequestId: " + id
                + " Error: Runtime exited with error: signal: killed (memory limit 96 MB reached)");
        assertThat(d.get("/v1/functions/mb").json().at("/counts/oomKills").asInt()).isGreaterThanOrEqualTo(1);
        TestDaemon.Response next = d.invoke("mb", "{}");
        assertThat(next.header("X-Amz-Function-Error")).isEmpty();
        assertThat(next.logTail()).contains("Init Duration").containsPattern("Max Memory Used: [1-9][0-9]* MB");
    }

    @Test
    void tmpPastTheQuotaIsEnospcInsideAndTouchesNothingOutside() throws IOException {
        JsonNode write = d.invoke("mb", "{\"tmpWriteMb\":40}").json().get("tmpWriteMb");
        assertThat(write.get("error").asText()).contains("No space left on device");
        assertThat(write.get("writtenMb").asInt()).isLessThanOrEqualTo(16);
        assertThat(write.get("path").asText()).startsWith("/tmp/");
        try (Stream<Path> hostTmp = Files.list(Path.of("/tmp"))) {
            assertThat(hostTmp.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("misbehave-"));
        }
        // The other function's /tmp is its own: full room, and no trace of the first one's file.
        JsonNode other = d.invoke("other", "{\"readFile\":\"" + write.get("path").asText() + "\",\"tmpWriteMb\":8}")
                .json();
        assertThat(other.at("/readFile/error").asText()).contains("NoSuchFileException");
        assertThat(other.at("/tmpWriteMb/writtenMb").asInt()).isEqualTo(8);
        assertThat(other.at("/tmpWriteMb/error").isMissingNode()).isTrue();
        assertThat(d.invoke("mb", "{}").status()).isEqualTo(200);
    }

    @Test
    void forksAreStoppedAtPidsMax() {
        TestDaemon.Response r = d.invoke("forker", "{\"forks\":1000}");
        if (r.header("X-Amz-Function-Error").isPresent()) {
            // At the limit the JVM itself may fail to start a thread (each child process has a reaper thread): the
            // invocation fails, and the limit is what it names.
            assertThat(r.text() + r.logTail()).containsAnyOf("unable to create native thread",
                    "Resource temporarily unavailable", "pthread_create");
        } else {
            JsonNode forks = r.json().get("forks");
            assertThat(forks.get("started").asInt()).isBetween(1, 255);
            assertThat(forks.get("error").asText()).contains("Resource temporarily unavailable");
        }
        assertThat(d.invoke("forker", "{}").header("X-Amz-Function-Error")).isEmpty();
    }

    @Test
    void spinningIsThrottledToTheQuota() throws IOException {
        d.invoke("mb", "{}");
        long jvm = d.get("/v1/functions/mb").json().at("/environments/0/pid").asLong();
        long before = cpu("mb").get("throttledNanos").asLong();
        long ticksBefore = cpuTicks(jvm);
        long start = System.nanoTime();
        TestDaemon.Response r = d.invoke("mb", "{\"spinMs\":1500}");
        long wallMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.status()).isEqualTo(200);
        long usedMs = (cpuTicks(jvm) - ticksBefore) * 10;
        JsonNode after = cpu("mb");
        // A quarter of a core for 1.5 s of wall time: the JVM gets at most about a quarter of it, however busy the
        // machine is (a busy machine only lowers it; unthrottled, a spinning thread takes the whole 1.5 s).
        assertThat(usedMs).as("CPU ms the function's JVM used in %d ms of wall time", wallMs)
                .isLessThan(wallMs / 4 + 300);
        assertThat(after.get("throttledNanos").asLong() - before).isPositive();
        assertThat(after.get("throttledPeriods").asLong()).isPositive();
    }

    /** A process's user and system CPU time, in clock ticks (10 ms). */
    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime: fields 14 and 15 of stat
    }

    @Test
    void functionsCannotReadTheDaemonsStateNorRunAsRootOrAsEachOther() {
        JsonNode a = d.invoke("mb", "{\"readFile\":\"" + d.dataDir().resolve("state.db") + "\"}").json();
        assertThat(a.at("/readFile/error").asText()).containsAnyOf("NoSuchFileException", "AccessDeniedException");
        JsonNode b = d.invoke("other", "{\"readFile\":\"" + d.dataDir().resolve("functions/mb/1/function.json")
                + "\"}").json();
        assertThat(b.at("/readFile/error").asText()).containsAnyOf("NoSuchFileException", "AccessDeniedException");
        assertThat(a.get("uid").asInt()).isNotZero();
        assertThat(b.get("uid").asInt()).isNotZero().isNotEqualTo(a.get("uid").asInt());
        JsonNode ownCode = d.invoke("mb", "{\"readFile\":\"" + d.dataDir().resolve("functions/mb/1/function.json")
                + "\"}").json();
        assertThat(ownCode.at("/readFile/bytes").asInt()).isPositive();
    }

    @Test
    void aDataDirectoryInsideAPrivateDirectoryStillWorks() throws IOException {
        // As under /root: a function's uid cannot walk through the parent, yet must reach its code and runtime.
        Path closed = Files.createTempDirectory(Path.of("/var/tmp"), "bramble-closed-",
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        try (TestDaemon inside = TestDaemon.start(closed.resolve("data"), "", Clock.systemUTC(), true)) {
            inside.deployOk(Bundles.example("echo"));
            TestDaemon.Response r = inside.invoke("echo", "{\"closed\":true}");
            assertThat(r.header("X-Amz-Function-Error")).as("%s %s", r.text(), r.logTail()).isEmpty();
            assertThat(r.json().get("closed").asBoolean()).isTrue();
        } finally {
            dev.bramble.daemon.store.Trees.deleteQuietly(closed);
        }
    }

    @Test
    void statusShowsEachEnvironmentsCgroupFigures() {
        d.invoke("mb", "{}");
        JsonNode env = d.get("/v1/functions/mb").json().get("environments").get(0);
        assertThat(env.at("/memory/currentBytes").asLong()).isPositive();
        assertThat(env.at("/memory/peakBytes").asLong()).isGreaterThanOrEqualTo(env.at("/memory/currentBytes").asLong());
        assertThat(env.at("/memory/limitMb").asInt()).isEqualTo(96);
        assertThat(env.get("pids").asInt()).isPositive();
        assertThat(env.at("/cpu/throttledPeriods").isNumber()).isTrue();
    }

    private JsonNode cpu(String function) {
        return d.get("/v1/functions/" + function).json().at("/environments/0/cpu");
    }

    @Test
    void aBundlesVariablesReachOnlyItsOwnUnprivilegedJvmNeverARootStepOfTheLaunchChain() throws IOException {
        JsonNode r = d.invoke("other", "{\"getenv\": \"CANARY\"}").json();
        // Quotes, $ and backquotes arrive as written: the shell that applies them expands nothing.
        assertThat(r.get("getenv").asText()).isEqualTo("it's from the bundle; $HOME `id`");
        long pid = -1;
        for (JsonNode e : d.get("/v1/status").json().get("environments")) {
            if (e.get("function").asText().equals("other")) {
                pid = e.get("sandboxPid").asLong();
            }
        }
        List<ProcessHandle> chain = new java.util.ArrayList<>();
        ProcessHandle.of(pid).ifPresent(chain::add);
        ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(chain::add));
        int rootSteps = 0;
        int functionJvms = 0;
        for (ProcessHandle p : chain) {
            Path proc = Path.of("/proc", Long.toString(p.pid()));
            String environ;
            int uid;
            try {
                environ = Files.readString(proc.resolve("environ")).replace('\0', '\n');
                uid = (Integer) Files.getAttribute(proc, "unix:uid");
            } catch (IOException gone) {
                continue; // a step that exec'd or ended meanwhile
            }
            if (uid == 0) {
                rootSteps++;
                assertThat(environ).as("environment of root step %s", p.info().commandLine().orElse("?"))
                        .doesNotContain("CANARY").doesNotContain("JAVA_TOOL_OPTIONS")
                        .contains("PATH=/usr/sbin:/usr/bin:/sbin:/bin\n");
                // The fixed environment, and the working directory the joining shell exports: nothing else.
                assertThat(environ.lines().map(l -> l.substring(0, l.indexOf('='))))
                        .isSubsetOf("PATH", "LANG", "PWD");
            } else if (p.info().command().orElse("").endsWith("java")) {
                functionJvms++;
                assertThat(environ).contains("CANARY=it's from the bundle; $HOME `id`\n")
                        .contains("JAVA_TOOL_OPTIONS=-Dcanary=1\n");
            }
        }
        assertThat(rootSteps).as("bwrap runs as root in the chain").isPositive();
        assertThat(functionJvms).isEqualTo(1);
    }

    @Test
    void aBundleSettingALoaderVariableIsRefusedAtDeployAndNamed() {
        TestDaemon.Response r = d.deploy(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave(
                "preload", "\"environment\": {\"LD_PRELOAD\": \"/opt/function/lib/evil.so\"}")), "");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.text()).contains("environment.LD_PRELOAD: changes how the loader or the JVM starts");
        assertThat(d.invoke("other", "{}").status()).isEqualTo(200);
    }

    @Test
    void writesOutsideTmpAreRefusedAndDevShmIsPrivateBoundedAndNotTheHosts() throws IOException {
        JsonNode w = d.invoke("writer", "{\"writeTo\": [\"/dev/shm\", \"/var/tmp\", \"/etc\"], \"writeMb\": 40}")
                .json().get("writeTo");
        // /dev/shm is a private tmpfs of the /tmp quota (8 MB here); the rest of the file system is read-only.
        assertThat(w.at("/~1dev~1shm/error").asText()).contains("No space left on device");
        assertThat(w.at("/~1dev~1shm/writtenMb").asInt()).isBetween(1, 8);
        assertThat(w.at("/~1var~1tmp/error").asText()).contains("Read-only file system");
        assertThat(w.at("/~1etc/error").asText()).contains("Read-only file system");
        String shmFile = w.at("/~1dev~1shm/path").asText();
        assertThat(Path.of(shmFile)).as("the host's /dev/shm").doesNotExist();
        assertThat(Path.of("/var/tmp").resolve(Path.of(shmFile).getFileName())).doesNotExist();
        JsonNode other = d.invoke("other", "{\"readFile\": \"" + shmFile + "\"}").json();
        assertThat(other.at("/readFile/error").asText()).contains("NoSuchFileException");
        assertThat(d.invoke("writer", "{}").status()).isEqualTo(200);
    }

    @Test
    void aFunctionAskingForEveryCoreLeavesTheDaemonRoomAndTheDaemonAnswersWhileItSpins() throws Exception {
        d.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("greedy",
                "\"cpus\": 64, \"timeoutSeconds\": 10")));
        assertThat(d.invoke("greedy", "{}").status()).isEqualTo(200);
        long pid = -1;
        for (JsonNode e : d.get("/v1/status").json().get("environments")) {
            if (e.get("function").asText().equals("greedy")) {
                pid = e.get("pid").asLong();
            }
        }
        // The environment's own cgroup, as the kernel reports it (v1 here, v2 on a Pi).
        String cgroups = Files.readString(Path.of("/proc", Long.toString(pid), "cgroup"));
        int cores = Runtime.getRuntime().availableProcessors();
        long quotaMillis;
        java.util.Optional<String> v1 = cgroups.lines().filter(l -> l.matches("\\d+:[^:]*\\bcpu\\b[^:]*:.*"))
                .findFirst();
        if (v1.isPresent()) {
            Path dirPath = Path.of("/sys/fs/cgroup/cpu" + v1.get().substring(v1.get().lastIndexOf(':') + 1));
            quotaMillis = Long.parseLong(Files.readString(dirPath.resolve("cpu.cfs_quota_us")).strip()) / 100;
        } else {
            String own = cgroups.lines().filter(l -> l.startsWith("0::")).findFirst().orElseThrow().substring(3);
            String[] max = Files.readString(Path.of("/sys/fs/cgroup" + own, "cpu.max")).strip().split(" ");
            quotaMillis = Long.parseLong(max[0]) * 1000 / Long.parseLong(max[1]);
        }
        assertThat(quotaMillis).isEqualTo(cores * 1000L - Math.min(500, cores * 250L));
        // While it spins at that quota, the daemon still answers at once.
        Thread spinner = Thread.ofPlatform().start(() -> d.invoke("greedy", "{\"spinMs\": 3000}"));
        try {
            Thread.sleep(500);
            long t0 = System.nanoTime();
            assertThat(d.get("/v1/health").status()).isEqualTo(200);
            assertThat((System.nanoTime() - t0) / 1_000_000).as("health while a function spins, ms").isLessThan(1_000);
        } finally {
            spinner.join(15_000);
        }
    }

    @Test
    void aFunctionsCodeAndManifestAreClosedToOtherUsersOfTheDevice() throws IOException {
        assertThat(d.invoke("other", "{}").status()).isEqualTo(200);
        JsonNode me = d.invoke("other", "{}").json();
        Path functionDir = d.dataDir().resolve("functions/other");
        // function.json carries the environment's values: only root and the function's own group may enter.
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(functionDir)))
                .isEqualTo("rwxr-x---");
        assertThat(Files.getAttribute(functionDir, "unix:gid")).isEqualTo(me.get("uid").asInt());
        assertThat(Files.getAttribute(functionDir, "unix:uid")).isEqualTo(0);
        assertThat(d.invoke("other", "{}").status()).isEqualTo(200);
    }

    @Test
    void aJvmStarvedPastTheInitTimeoutIsKilledAndReportedAsAnInitTimeout() {
        // A twentieth of a core cannot start a JVM within a second.
        try (TestDaemon slow = TestDaemon.start(dir.resolve("slow-init"), """
                pool:
                  init-timeout-seconds: 1
                runtime:
                  class-data-archives: false
                """, Clock.systemUTC(), true)) {
            slow.deployOk(Bundles.withManifest(Bundles.example("misbehave"), dir, Bundles.misbehave("starved",
                    "\"cpus\": 0.05")));
            TestDaemon.Response r = slow.invoke("starved", "{}");
            assertThat(r.header("X-Amz-Function-Error")).contains("Unhandled");
            assertThat(r.json().get("errorType").asText()).isEqualTo("Runtime.ExitError");
            assertThat(r.json().get("errorMessage").asText()).contains("Init timed out after 1.00 seconds");
            assertThat(slow.get("/v1/status").json().get("environments")).isEmpty();
        }
        assertThat(d.invoke("other", "{}").status()).isEqualTo(200);
    }
}
