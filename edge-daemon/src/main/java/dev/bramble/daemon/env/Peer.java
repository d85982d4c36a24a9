package dev.bramble.daemon.env;

import dev.bramble.runtime.Channel;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The daemon's end of what an environment takes its invocations through: Bramble's frame channel for a
 * {@code java21} environment ({@link ChannelPeer}), Lambda's Runtime API for every other runtime
 * ({@link RuntimeApiPeer}). Invocations only wait on futures from here; neither end blocks a virtual thread on a
 * pipe or a monitor.
 */
interface Peer {

    /** Starts whatever reads the environment's side. */
    void start();

    /**
     * The environment's first word: {@link Channel.Ready} or {@link Channel.InitError}; empty when it ended first or
     * {@code timeoutMs} passed.
     */
    Optional<Channel.Frame> awaitFirst(long timeoutMs);

    /**
     * Sends an invocation. The future completes with its answer, or exceptionally when the environment's side ends;
     * it never completes if the environment simply does not answer, so the caller waits with its deadline.
     */
    CompletableFuture<Channel.Result> send(Channel.Invoke invoke);

    /** Whether the environment's side has ended (its process exited, its channel closed or broke). */
    boolean ended();

    /** Whether it ended at a frame longer than the channel allows (a response far past Lambda's 6 MB). */
    boolean oversizedFrame();

    /** A training run's archive, once stored: its size; empty if none came within {@code timeoutMs}. */
    Optional<Long> awaitArchive(long timeoutMs);

    /** What {@code first} completes with within {@code timeoutMs}; empty when it failed or did not come in time. */
    static Optional<Channel.Frame> awaitFirst(CompletableFuture<Channel.Frame> first, long timeoutMs) {
        try {
            return Optional.ofNullable(first.get(timeoutMs, TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // ended or too late: the caller tells which by the clock
        }
        return Optional.empty();
    }
}
