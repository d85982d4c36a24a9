package dev.bramble.daemon.work;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A background loop on a platform thread of its own (it may block on files, sockets or child processes, which a
 * virtual thread must not: docs/decisions/0006): it runs a step, then sleeps for as long as the step asked, until
 * {@link #wake()} or {@link #close()}. A step that throws is logged and tried again after {@link #RETRY}; close
 * stops the loop and waits for the step under way at most {@link #JOIN}.
 */
public final class Worker implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Worker.class.getName());
    /** How long after a failed step the next one runs. */
    public static final Duration RETRY = Duration.ofSeconds(1);
    /** How long close waits for a step to finish. */
    static final Duration JOIN = Duration.ofSeconds(5);

    /** One round of the loop. */
    @FunctionalInterface
    public interface Step {
        /**
         * Does one round of work.
         *
         * @return how long to sleep before the next round, unless woken
         * @throws InterruptedException when the worker closes during it
         */
        Duration run() throws InterruptedException;
    }

    private final String name;
    private final Step step;
    private final Thread thread;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private boolean woken;
    private boolean started;
    private volatile boolean closed;

    private Worker(String name, Step step) {
        this.name = name;
        this.step = step;
        this.thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this::loop);
    }

    /** Starts {@code step} in a loop on a thread named {@code name}. */
    public static Worker start(String name, Step step) {
        Worker w = unstarted(name, step);
        w.start();
        return w;
    }

    /**
     * A worker that runs nothing until {@link #start()}, for an owner whose loop must wait for something (a
     * listener, a connection's handler) but that wakes and closes it from the start: a wake before the start is kept,
     * and a worker closed first never starts.
     */
    public static Worker unstarted(String name, Step step) {
        return new Worker(name, step);
    }

    /** Starts the loop; does nothing when it is started already or closed. */
    public void start() {
        lock.lock();
        try {
            if (started || closed) {
                return;
            }
            started = true;
            thread.start();
        } finally {
            lock.unlock();
        }
    }

    /** Ends the current sleep: something the step looks at has changed. A wake during a step is not lost. */
    public void wake() {
        lock.lock();
        try {
            woken = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@link #close()} was called: a long step may look, and stop early. */
    public boolean closed() {
        return closed;
    }

    private void loop() {
        while (!closed) {
            Duration sleep;
            try {
                sleep = step.run();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "worker.step-failed worker={0} error={1}", name, e.toString());
                sleep = RETRY;
            }
            lock.lock();
            try {
                if (!woken && !closed) {
                    changed.await(Math.max(1, sleep.toMillis()), TimeUnit.MILLISECONDS);
                }
                woken = false;
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
        }
    }

    /** Stops the loop: wakes it, interrupts a step that waits, and waits for it at most {@link #JOIN}. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true; // under the lock: a start cannot slip in between
        } finally {
            lock.unlock();
        }
        wake();
        if (Thread.currentThread() == thread) {
            return;
        }
        thread.interrupt();
        try {
            thread.join(JOIN.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
