package dev.bramble.sandbox;

import dev.bramble.sandbox.ContainedProcess.MemoryUsage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Plain child processes: no cgroup, no private /tmp, no separate identity. */
final class UnconfinedSandbox implements Sandbox {
    private static final System.Logger LOG = System.getLogger(UnconfinedSandbox.class.getName());
    private static final Isolation ISOLATION = new Isolation("degraded", List.of("cgroups", "tmpfs", "identity"));

    @Override
    public ContainedProcess launch(LaunchSpec spec) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(spec.command()).directory(spec.workDir().toFile());
        pb.environment().clear();
        pb.environment().putAll(spec.environment());
        Process process = pb.start();
        return new Child(process);
    }

    @Override
    public Isolation isolation() {
        return ISOLATION;
    }

    private record Child(Process process) implements ContainedProcess {
        @Override
        public long pid() {
            return process.pid();
        }

        @Override
        public OutputStream stdin() {
            return process.getOutputStream();
        }

        @Override
        public InputStream stdout() {
            return process.getInputStream();
        }

        @Override
        public InputStream stderr() {
            return process.getErrorStream();
        }

        @Override
        public boolean isAlive() {
            return process.isAlive();
        }

        @Override
        public CompletableFuture<Exit> onExit() {
            return process.onExit().thenApply(p -> new Exit(p.exitValue()));
        }

        @Override
        public void kill() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }

        @Override
        public void stop(Duration grace) {
            if (!process.isAlive()) {
                return;
            }
            process.destroy();
            try {
                if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                    LOG.log(Level.INFO, "sandbox.kill pid={0} reason=grace-expired grace_ms={1}", pid(),
                            grace.toMillis());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            kill();
            try {
                process.onExit().get(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                LOG.log(Level.WARNING, "sandbox.kill pid={0} still-alive-after_ms=5000", pid());
            }
        }

        @Override
        public MemoryUsage memory() {
            return ProcStatus.memory(Path.of("/proc", Long.toString(pid()), "status"));
        }
    }

    /** Reads VmRSS and VmHWM from {@code /proc/PID/status}. */
    static final class ProcStatus {
        private ProcStatus() {
        }

        static MemoryUsage memory(Path status) {
            long rss = 0;
            long hwm = 0;
            try {
                for (String line : Files.readAllLines(status)) {
                    if (line.startsWith("VmRSS:")) {
                        rss = kb(line);
                    } else if (line.startsWith("VmHWM:")) {
                        hwm = kb(line);
                    }
                }
            } catch (IOException e) {
                // The process is gone: nothing in use.
            }
            return new MemoryUsage(rss, Math.max(rss, hwm));
        }

        private static long kb(String line) {
            String digits = line.replaceAll("[^0-9]", "");
            return digits.isEmpty() ? 0 : Long.parseLong(digits) * 1024;
        }
    }
}
