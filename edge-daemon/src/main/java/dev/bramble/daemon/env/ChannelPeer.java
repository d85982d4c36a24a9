package dev.bramble.daemon.env;

import dev.bramble.runtime.Channel;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The daemon's end of one child's channel. Every blocking call on the child's pipes runs on a platform thread: a
 * reader of its own takes the child's frames and hands each answer to the invocation waiting for it, and writes go
 * through the pool's I/O executor. Invocations, which run on virtual threads, only wait on futures, so a child that
 * stops reading or writing can never pin a carrier (docs/decisions/0006-blocking-io-off-virtual-threads.md).
 */
final class ChannelPeer implements Peer {
    /** Enough for a frame reader; platform threads are kept small, since every environment has two. */
    static final long STACK_BYTES = 256 * 1024;

    private final Channel.Reader in;
    private final Channel.Writer out;
    private final Executor writes;
    private final Thread reader;
    private final CompletableFuture<Channel.Frame> first = new CompletableFuture<>();
    private final ConcurrentHashMap<String, CompletableFuture<Channel.Result>> pending = new ConcurrentHashMap<>();
    private final ReentrantLock writing = new ReentrantLock();
    private volatile IOException ended;
    /** Where a training run's archive goes, or null: no other environment may send one. */
    private final Path archiveTarget;
    private final CompletableFuture<Long> archived = new CompletableFuture<>();

    /**
     * @param junk   gets the lines a child printed on its channel before the preamble (a JVM's own warnings)
     * @param writes runs the writes: platform threads only
     */
    ChannelPeer(InputStream fromChild, OutputStream toChild, String stream, Consumer<String> junk, Executor writes,
                Path archiveTarget) {
        this.archiveTarget = archiveTarget;
        this.in = new Channel.Reader(fromChild);
        this.out = new Channel.Writer(toChild);
        this.writes = writes;
        this.reader = Thread.ofPlatform().name("bramble-channel-" + stream).daemon(true).stackSize(STACK_BYTES)
                .unstarted(() -> read(junk, stream));
    }

    @Override
    public void start() {
        reader.start();
    }

    /**
     * The child's first frame ({@link Channel.Ready} or {@link Channel.InitError}); empty when the channel ended
     * first or {@code timeoutMs} passed.
     */
    @Override
    public Optional<Channel.Frame> awaitFirst(long timeoutMs) {
        return Peer.awaitFirst(first, timeoutMs);
    }

    /** Whether the channel ended at a frame longer than it allows (a response far past Lambda's 6 MB). */
    @Override
    public boolean oversizedFrame() {
        IOException e = ended;
        return e instanceof Channel.FrameTooLargeException || e != null
                && e.getCause() instanceof Channel.FrameTooLargeException;
    }

    /** Whether the child's side of the channel has ended (closed, or a malformed frame). */
    @Override
    public boolean ended() {
        return ended != null;
    }

    /**
     * Sends an invocation. The future completes with its answer, or exceptionally when the channel ends or the
     * write fails; it never completes if the child simply does not answer, so the caller waits with its deadline.
     */
    @Override
    public CompletableFuture<Channel.Result> send(Channel.Invoke invoke) {
        String id = invoke.requestId();
        CompletableFuture<Channel.Result> answer = new CompletableFuture<>();
        pending.put(id, answer);
        answer.whenComplete((r, e) -> pending.remove(id, answer));
        // The reader sets ended before it fails what is pending: one of the two sees the other.
        IOException gone = ended;
        if (gone != null) {
            answer.completeExceptionally(gone);
            return answer;
        }
        try {
            writes.execute(() -> write(invoke, answer));
        } catch (RejectedExecutionException e) {
            answer.completeExceptionally(new IOException("the daemon is stopping", e));
        }
        return answer;
    }

    private void write(Channel.Invoke invoke, CompletableFuture<Channel.Result> answer) {
        writing.lock();
        try {
            out.write(invoke);
        } catch (IOException e) {
            answer.completeExceptionally(e);
        } finally {
            writing.unlock();
        }
    }

    /** The size of the archive a training run sent once it is stored; empty if none came within the time. */
    @Override
    public Optional<Long> awaitArchive(long timeoutMs) {
        try {
            return Optional.of(archived.get(timeoutMs, TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // none: the training run ended, failed to dump, or sent too much
        }
        return Optional.empty();
    }

    private void read(Consumer<String> junk, String stream) {
        try {
            in.awaitPreamble(junk);
            first.complete(in.read());
            ArchiveReceiver archive = archiveTarget == null ? null : new ArchiveReceiver(archiveTarget, stream);
            while (true) {
                Channel.Frame frame = in.read();
                if (frame instanceof Channel.Result r) {
                    CompletableFuture<Channel.Result> waiting = pending.get(r.requestId());
                    if (waiting != null) {
                        waiting.complete(r);
                    }
                } else if (frame instanceof Channel.ArchivePart part && archive != null) {
                    archive.take(part).ifPresent(archived::complete);
                }
            }
        } catch (IOException e) {
            ended = e instanceof EOFException ? e : new IOException("channel ended: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            ended = new IOException("channel reader failed: " + e, e);
        } finally {
            if (ended == null) {
                ended = new IOException("channel ended");
            }
            IOException e = ended;
            first.completeExceptionally(e);
            pending.values().forEach(f -> f.completeExceptionally(e));
            archived.completeExceptionally(e);
        }
    }
}
