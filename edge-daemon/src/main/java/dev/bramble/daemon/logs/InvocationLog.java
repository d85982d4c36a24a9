package dev.bramble.daemon.logs;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One invocation's log, from START to REPORT, in Lambda's order: START, the lines the function printed during the
 * invocation, then the closing lines (an error line, END, REPORT). The invoker opens it (START) and closes it; the
 * environment's log pump hands it the function's lines as it reads them and says when they have drained (the
 * runtime's end-of-log marker, or the end of the stream). Closing lines given before the output drained are held
 * and stored the moment it has, so they always follow the function's own lines, and the caller need not wait.
 * For {@code X-Amz-Log-Type: Tail} it keeps the last {@link #TAIL_BYTES} of it all: the one place that tail is cut.
 */
public final class InvocationLog {
    /** What {@code X-Amz-Log-Result} carries: the last 4 KB of the invocation's log, as on Lambda. */
    public static final int TAIL_BYTES = 4096;

    private final LogStore store;
    private final String function;
    private final String stream;
    private final String requestId;
    private final Clock clock;
    private final boolean keepTail;
    /** A lock, not a monitor: {@link #close} runs on an invocation's virtual thread. */
    private final ReentrantLock lock = new ReentrantLock();
    private final CountDownLatch drained = new CountDownLatch(1);
    private final ArrayDeque<byte[]> tail = new ArrayDeque<>();
    private int tailBytes;
    private boolean outputDrained;
    private List<String> held;

    private InvocationLog(LogStore store, String function, String stream, String requestId, Clock clock,
                          boolean keepTail) {
        this.store = store;
        this.function = function;
        this.stream = stream;
        this.requestId = requestId;
        this.clock = clock;
        this.keepTail = keepTail;
    }

    /**
     * Opens an invocation's log in {@code stream} and stores its START line.
     *
     * @param keepTail keep the last {@link #TAIL_BYTES} for {@link #tail()}
     */
    public static InvocationLog start(LogStore store, String function, String stream, String requestId,
                                      int version, boolean keepTail, Clock clock) {
        InvocationLog log = new InvocationLog(store, function, stream, requestId, clock, keepTail);
        log.store("START RequestId: " + requestId + " Version: " + version);
        return log;
    }

    public String requestId() {
        return requestId;
    }

    /** A line the function printed during the invocation. */
    public void printed(String line) {
        store(line);
    }

    /** Nothing more of the function's output belongs to this invocation; held closing lines are stored now. */
    public void drained() {
        lock.lock();
        try {
            if (outputDrained) {
                return;
            }
            outputDrained = true;
            if (held != null) {
                held.forEach(this::persist); // a kept tail has them already
                held = null;
            }
        } finally {
            lock.unlock();
            drained.countDown();
        }
    }

    /** Waits until the function's output has drained, at most {@code timeoutMs}; whether it has. */
    public boolean awaitDrained(long timeoutMs) {
        try {
            return drained.await(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Closes the log with {@code closing} (an error line, END, REPORT): stored now if the output has drained, else
     * the moment it does.
     */
    public void close(List<String> closing) {
        lock.lock();
        try {
            if (outputDrained) {
                closing.forEach(this::store);
            } else {
                held = List.copyOf(closing);
                if (keepTail) {
                    held.forEach(this::keep); // the caller's tail shows them whether or not the output drained
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The last {@link #TAIL_BYTES} of the log as kept so far, each line ending in a newline; empty unless the log
     * keeps its tail. The cut may fall inside a line, as Lambda's does.
     */
    public byte[] tail() {
        lock.lock();
        try {
            byte[] all = new byte[tailBytes];
            int at = 0;
            for (byte[] line : tail) {
                System.arraycopy(line, 0, all, at, line.length);
                at += line.length;
            }
            return all.length <= TAIL_BYTES ? all : Arrays.copyOfRange(all, all.length - TAIL_BYTES, all.length);
        } finally {
            lock.unlock();
        }
    }

    private void store(String line) {
        persist(line);
        if (keepTail) {
            keep(line);
        }
    }

    private void persist(String line) {
        store.append(function, stream, requestId, clock.millis(), line);
    }

    private void keep(String line) {
        lock.lock();
        try {
            byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
            tail.addLast(bytes);
            tailBytes += bytes.length;
            while (tailBytes - tail.peekFirst().length >= TAIL_BYTES) {
                tailBytes -= tail.removeFirst().length;
            }
        } finally {
            lock.unlock();
        }
    }
}
