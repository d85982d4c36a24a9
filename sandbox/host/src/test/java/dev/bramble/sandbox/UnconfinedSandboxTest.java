package dev.bramble.sandbox;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class UnconfinedSandboxTest {
    @TempDir
    Path dir;

    @Test
    void childSeesOnlyTheEnvironmentGiven() throws Exception {
        ContainedProcess p = Sandbox.unconfined().launch(new LaunchSpec("env", List.of("/usr/bin/env"),
                Map.of("ONLY", "this"), dir, 32));
        String out = new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(out.strip()).isEqualTo("ONLY=this");
        assertThat(p.onExit().get(5, SECONDS).status()).isZero();
    }

    @Test
    void killTakesTheWholeTreeAndSaysSignalKilled() throws Exception {
        ContainedProcess p = Sandbox.unconfined().launch(new LaunchSpec("tree", List.of("/bin/sh", "-c",
                "sleep 60 & sleep 60 & wait"), Map.of("PATH", "/usr/bin:/bin"), dir, 32));
        await().atMost(5, SECONDS).until(() -> ProcessHandle.of(p.pid()).orElseThrow().children().count() == 2);
        List<ProcessHandle> children = ProcessHandle.of(p.pid()).orElseThrow().children().toList();
        p.kill();
        Exit exit = p.onExit().get(5, SECONDS);
        assertThat(exit.describe()).isEqualTo("signal: killed");
        await().atMost(5, SECONDS).until(() -> children.stream().noneMatch(ProcessHandle::isAlive));
    }

    @Test
    void stopGivesAGraceThenKills() throws Exception {
        ContainedProcess p = Sandbox.unconfined().launch(new LaunchSpec("stubborn", List.of("/bin/sh", "-c",
                "trap '' TERM; sleep 60"), Map.of("PATH", "/usr/bin:/bin"), dir, 32));
        long t0 = System.nanoTime();
        p.stop(Duration.ofMillis(300));
        assertThat(p.isAlive()).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void exitDescribesLikeLambda() {
        assertThat(new Exit(3).describe()).isEqualTo("exit status 3");
        assertThat(new Exit(137).describe()).isEqualTo("signal: killed");
        assertThat(new Exit(143).describe()).isEqualTo("signal: terminated");
    }

    @Test
    void isolationSaysWhatIsMissing() {
        assertThat(Sandbox.unconfined().isolation().mode()).isEqualTo("degraded");
        assertThat(Sandbox.unconfined().isolation().missing()).containsExactly("cgroups", "tmpfs", "identity");
    }
}
