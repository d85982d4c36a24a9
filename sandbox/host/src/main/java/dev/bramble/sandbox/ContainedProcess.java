package dev.bramble.sandbox;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** A running child process and its pipes. */
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

    /** SIGKILL to the whole process tree, at once. Idempotent. */
    void kill();

    /**
     * SIGTERM, up to {@code grace} for the process to exit, then {@link #kill()}. Idempotent; returns once the
     * process is gone.
     */
    void stop(Duration grace);

    /** Memory the process uses now and at its peak, in bytes. */
    MemoryUsage memory();

    /**
     * Memory figures.
     *
     * @param currentBytes in use now
     * @param peakBytes    the most ever in use
     */
    record MemoryUsage(long currentBytes, long peakBytes) {
    }
}
