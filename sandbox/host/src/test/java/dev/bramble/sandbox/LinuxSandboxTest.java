package dev.bramble.sandbox;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The launcher without containment: environment, tree kill, stop with grace, exit wording. */
class LinuxSandboxTest {
    @TempDir
    Path dir;

    private LaunchSpec spec(String name, List<String> command, Map<String, String> env) {
        return new LaunchSpec(name, command, env, dir, new Limits(64, 500, 64, 8), Optional.empty(), List.of(),
                List.of(), List.of(), dir, true);
    }

    @Test
    void childSeesOnlyTheEnvironmentGiven() throws Exception {
        try (Sandbox sandbox = Sandbox.unconfined()) {
            ContainedProcess p = sandbox.launch(spec("env", List.of("/usr/bin/env"), Map.of("ONLY", "this")));
            String out = new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(out.strip()).isEqualTo("ONLY=this");
            assertThat(p.onExit().get(5, SECONDS).status()).isZero();
        }
    }

    @Test
    void killTakesTheWholeTreeAndSaysSignalKilled() throws Exception {
        try (Sandbox sandbox = Sandbox.unconfined()) {
            ContainedProcess p = sandbox.launch(spec("tree", List.of("/bin/sh", "-c", "sleep 60 & sleep 60 & wait"),
                    Map.of("PATH", "/usr/bin:/bin")));
            await().atMost(5, SECONDS).until(() -> ProcessHandle.of(p.pid()).orElseThrow().children().count() == 2);
            List<ProcessHandle> children = ProcessHandle.of(p.pid()).orElseThrow().children().toList();
            p.kill();
            assertThat(p.onExit().get(5, SECONDS).describe()).isEqualTo("signal: killed");
            await().atMost(5, SECONDS).until(() -> children.stream().noneMatch(ProcessHandle::isAlive));
        }
    }

    @Test
    void stopGivesAGraceThenKills() throws Exception {
        try (Sandbox sandbox = Sandbox.unconfined()) {
            ContainedProcess p = sandbox.launch(spec("stubborn", List.of("/bin/sh", "-c", "trap '' TERM; sleep 60"),
                    Map.of("PATH", "/usr/bin:/bin")));
            long t0 = System.nanoTime();
            p.stop(Duration.ofMillis(300));
            assertThat(p.isAlive()).isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void exitDescribesLikeLambda() {
        assertThat(new Exit(3).describe()).isEqualTo("exit status 3");
        assertThat(new Exit(137).describe()).isEqualTo("signal: killed");
        assertThat(new Exit(143).describe()).isEqualTo("signal: terminated");
    }

    @Test
    void unconfinedSaysWhatIsMissing() {
        try (Sandbox sandbox = Sandbox.unconfined()) {
            assertThat(sandbox.isolation().mode()).isEqualTo("degraded");
            assertThat(sandbox.isolation().cgroups()).isEqualTo("none");
            assertThat(sandbox.isolation().missing()).hasSize(5);
            assertThat(sandbox.privateTmp()).isFalse();
            assertThat(sandbox.separateIdentities()).isFalse();
        }
    }
}
