package dev.bramble.daemon.env;

import dev.bramble.daemon.logs.LogStore;
import dev.bramble.runtime.Channel;

import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Reads a child's stderr, which carries everything the function prints (a Runtime API runtime's stdout too: its
 * launch points fd 1 at fd 2), and stores it line by line in its
 * environment's log stream, each line within the log store's cap however long the function makes it
 * ({@link BoundedLines}). Lines between an invocation's start and its end-of-log marker (the Java runtime writes it;
 * for a Runtime API runtime the daemon writes it into the same pipe once the answer arrived) belong to
 * that invocation and are also captured for {@code X-Amz-Log-Type: Tail}. The read blocks on a pipe for as long as
 * the child lives, so it runs on a platform thread of its own, never a virtual one
 * (docs/decisions/0006-blocking-io-off-virtual-threads.md).
 */
final class LogPump {
    private final BoundedLines reader;
    private final LogStore store;
    private final String function;
    private final String stream;
    private final Clock clock;
    private final CountDownLatch eof = new CountDownLatch(1);
    /** The invocations in flight, by request id: one, or several when the runtime runs them at once. */
    private final java.util.concurrent.ConcurrentHashMap<String, Capture> captures =
            new java.util.concurrent.ConcurrentHashMap<>();

    LogPump(InputStream stderr, LogStore store, String function, String stream, Clock clock) {
        this.reader = new BoundedLines(stderr, store.maxLineBytes());
        this.store = store;
        this.function = function;
        this.stream = stream;
        this.clock = clock;
    }

    void start() {
        Thread.ofPlatform().name("bramble-log-" + stream).daemon(true).stackSize(ChannelPeer.STACK_BYTES)
                .start(this::run);
    }

    /** Starts capturing an invocation's lines. */
    Capture begin(String requestId) {
        Capture c = new Capture(requestId, this);
        captures.put(requestId, c);
        return c;
    }

    /** Waits until the child's stderr is closed. */
    boolean awaitEof(long timeoutMs) throws InterruptedException {
        return eof.await(timeoutMs, TimeUnit.MILLISECONDS);
    }

    private void run() {
        try {
            for (String line = reader.next(); line != null; line = reader.next()) {
                int marker = line.indexOf(Channel.END_OF_LOG_MARKER);
                if (marker > 0) {
                    // The function's last output had no newline; the daemon's marker (Runtime API runtimes) came
                    // right after it.
                    take(line.substring(0, marker));
                    line = line.substring(marker);
                }
                if (line.startsWith(Channel.END_OF_LOG_MARKER)) {
                    Capture c = captures.remove(line.substring(Channel.END_OF_LOG_MARKER.length()));
                    if (c != null) {
                        c.close();
                    }
                    continue;
                }
                take(line);
            }
        } catch (IOException e) {
            // The child is gone; what was read is stored.
        } finally {
            captures.values().forEach(Capture::close);
            captures.clear();
            eof.countDown();
        }
    }

    private void take(String line) {
        Capture c;
        if (line.startsWith(Channel.TAG_START)) {
            int end = line.indexOf(Channel.TAG_END, Channel.TAG_START.length());
            c = end < 0 ? null : captures.get(line.substring(Channel.TAG_START.length(), end));
            line = end < 0 ? line : line.substring(end + 1);
        } else {
            // Untagged: the runtime runs one invocation at a time, or a thread of the function's own wrote it.
            c = captures.size() == 1 ? captures.values().iterator().next() : null;
        }
        store.append(function, stream, c == null ? null : c.requestId, clock.millis(), line);
        if (c != null) {
            c.add(line);
        }
    }

    /**
     * The last lines one invocation printed, up to {@link #TAIL_BYTES}: what {@code X-Amz-Log-Type: Tail} returns.
     * Bounded, so an invocation that prints a lot costs no memory here.
     */
    public static final class Capture {
        static final int TAIL_BYTES = 4096;
        private final String requestId;
        private final LogPump pump;
        private final ArrayDeque<String> lines = new ArrayDeque<>();
        private final CountDownLatch done = new CountDownLatch(1);
        /** A lock, not a monitor: {@link #finish} runs on an invocation's virtual thread and may wait on the log store. */
        private final ReentrantLock lock = new ReentrantLock();
        private int bytes;
        private boolean closed;
        private List<String> trailer;

        private Capture(String requestId, LogPump pump) {
            this.requestId = requestId;
            this.pump = pump;
        }

        /** The runtime's end marker (or the end of the stream) was read: nothing more belongs to this invocation. */
        private void close() {
            lock.lock();
            try {
                closed = true;
                if (trailer != null) {
                    trailer.forEach(this::store);
                }
                done.countDown();
            } finally {
                lock.unlock();
            }
        }

        /**
         * The lines that close the invocation's log (END, REPORT, and any error line before them). They are stored
         * after the function's own lines: now, if the end marker was read, else the moment it is. The caller need
         * not wait for the function's output to drain.
         */
        public void finish(List<String> closing) {
            lock.lock();
            try {
                if (closed) {
                    closing.forEach(this::store);
                } else {
                    trailer = List.copyOf(closing);
                }
            } finally {
                lock.unlock();
            }
        }

        private void store(String line) {
            pump.store.append(pump.function, pump.stream, requestId, pump.clock.millis(), line);
        }

        private void add(String line) {
            lock.lock();
            try {
                lines.addLast(line);
                bytes += line.length() + 1;
                while (bytes > TAIL_BYTES && lines.size() > 1) {
                    bytes -= lines.removeFirst().length() + 1;
                }
            } finally {
                lock.unlock();
            }
        }

        /**
         * The lines, once the runtime's end marker (or the end of the stream) has been read, or whatever arrived
         * by the timeout.
         */
        List<String> await(long timeoutMs) {
            try {
                done.await(timeoutMs, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            lock.lock();
            try {
                return List.copyOf(lines);
            } finally {
                lock.unlock();
            }
        }
    }
}
