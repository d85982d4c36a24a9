package dev.bramble.daemon.http;

import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Closes a connection whose request line arrived but whose headers did not within a deadline (a slow-headers
 * client, "slowloris"). Helidon's idle check covers a connection that sends nothing or only part of its request
 * line (it interrupts a connection still reading one), but counts a request as busy from its request line on and
 * then only asks it to close once done: headers that never end would hold the connection, its virtual thread and
 * one of the listener's connection permits for ever.
 *
 * <p>The request line and the headers are reported on the connection's own thread, so the thread reading the
 * headers is known; past the deadline it is interrupted, which closes its socket channel. Each connection has its
 * own virtual thread (Helidon's reader executor is thread-per-task), so an interrupt never reaches another
 * connection. A request whose headers complete at the same moment is settled by one atomic flag: either the headers
 * win and the request runs, or the deadline wins and the connection is closed.
 */
final class HeaderDeadline implements Http1ConnectionListener, AutoCloseable {
    private final long timeoutNanos;
    private final Map<ConnectionContext, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong closed = new AtomicLong();
    private final ScheduledExecutorService timer;

    private record Pending(Thread thread, long deadline, AtomicBoolean settled) {
    }

    HeaderDeadline(Duration timeout, Duration period) {
        this.timeoutNanos = timeout.toNanos();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bramble-header-deadline");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::expire, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        pending.put(ctx, new Pending(Thread.currentThread(), System.nanoTime() + timeoutNanos, new AtomicBoolean()));
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        Pending p = pending.remove(ctx);
        if (p != null) {
            p.settled().set(true);
        }
    }

    /** How many connections were closed for headers that did not arrive in time. */
    long closed() {
        return closed.get();
    }

    private void expire() {
        long now = System.nanoTime();
        pending.forEach((ctx, p) -> {
            if (!p.thread().isAlive()) {
                pending.remove(ctx, p); // the client went away while sending headers
            } else if (now - p.deadline() > 0 && p.settled().compareAndSet(false, true)) {
                pending.remove(ctx, p);
                closed.incrementAndGet();
                p.thread().interrupt();
            }
        });
    }

    @Override
    public void close() {
        timer.shutdownNow();
        pending.clear();
    }
}
