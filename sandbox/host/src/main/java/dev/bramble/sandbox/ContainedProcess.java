package dev.bramble.sandbox;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** A running child process, its pipes and its containment. */
public interface ContainedProcess {

    long pid();

    /** The child's stdin. */
    OutputStream stdin();

    /** The child's stdout. */
    InputStream stdout();

    /** The child's stderr. */
    InputStream stderr();

    boolean isAlive();

    /** Completes when the process has exited. */
    CompletableFuture<Exit> onExit();

    /**
     * Freezes every process of the containment (cgroup freezer): nothing of it runs until {@link #thaw()}. Does
     * nothing where there is no freezer ({@link Sandbox#isolation()} says so). Idempotent.
     */
    void freeze();

    /** Lets a frozen containment run again. Idempotent. */
    void thaw();

    /** SIGKILL to every process of the tree (or of the cgroup), at once. Idempotent. */
    void kill();

    /**
     * SIGTERM, up to {@code grace} for the process to exit, then {@link #kill()}; then releases the containment
     * (cgroup). Idempotent; returns once the processes are gone.
     */
    void stop(Duration grace);

    /** What the process uses now. */
    Usage usage();

    /** The most memory the process has used, bytes: one cheap read, for every invocation's REPORT line. */
    long memoryPeakBytes();

    /** Whether the process was killed for reaching its memory limit (the kernel's OOM killer in its cgroup). */
    boolean oomKilled();
}
