package dev.bramble.daemon.env;

import dev.bramble.daemon.logs.InvocationLog;
import dev.bramble.daemon.logs.LogStore;
import dev.bramble.runtime.Channel;

import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Reads a child's stderr, which carries everything the function prints (a Runtime API runtime's stdout too: its
 * launch points fd 1 at fd 2), and stores it line by line in its
 * environment's log stream, each line within the log store's cap however long the function makes it
 * ({@link BoundedLines}). Lines between an invocation's start and its end-of-log marker (the Java runtime writes it;
 * for a Runtime API runtime the daemon writes it into the same pipe once the answer arrived) belong to
 * that invocation and go to its {@link InvocationLog}. The read blocks on a pipe for as long as
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
    /** The logs of the invocations in flight, by request id: one, or several when the runtime runs them at once. */
    private final java.util.concurrent.ConcurrentHashMap<String, InvocationLog> captures =
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

    /** From now on, the lines of invocation {@code requestId} go to its log. */
    void begin(String requestId, InvocationLog log) {
        captures.put(requestId, log);
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
                    InvocationLog log = captures.remove(line.substring(Channel.END_OF_LOG_MARKER.length()));
                    if (log != null) {
                        log.drained();
                    }
                    continue;
                }
                take(line);
            }
        } catch (IOException e) {
            // The child is gone; what was read is stored.
        } finally {
            captures.values().forEach(InvocationLog::drained);
            captures.clear();
            eof.countDown();
        }
    }

    private void take(String line) {
        InvocationLog c;
        if (line.startsWith(Channel.TAG_START)) {
            int end = line.indexOf(Channel.TAG_END, Channel.TAG_START.length());
            c = end < 0 ? null : captures.get(line.substring(Channel.TAG_START.length(), end));
            line = end < 0 ? line : line.substring(end + 1);
        } else {
            // Untagged: the runtime runs one invocation at a time, or a thread of the function's own wrote it.
            c = captures.size() == 1 ? captures.values().iterator().next() : null;
        }
        if (c == null) {
            store.append(function, stream, null, clock.millis(), line);
        } else {
            c.printed(line);
        }
    }
}
