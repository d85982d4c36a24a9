package dev.bramble.daemon.work;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The one background loop: sleeps as asked, wakes when told, survives a failing step, stops when closed. */
class WorkerTest {
    @Test
    void aWakeEndsTheSleepAndIsNotLostWhenItComesDuringAStep() throws Exception {
        AtomicInteger rounds = new AtomicInteger();
        CountDownLatch inStep = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (Worker w = Worker.start("test-worker", () -> {
            if (rounds.incrementAndGet() == 2) {
                inStep.countDown();
                release.await();
            }
            return Duration.ofHours(1);
        })) {
            Thread.sleep(100);
            assertThat(rounds.get()).isOne(); // asleep for an hour
            w.wake();
            assertThat(inStep.await(5, TimeUnit.SECONDS)).isTrue();
            w.wake(); // during the second round: the third follows at once
            release.countDown();
            long t0 = System.nanoTime();
            while (rounds.get() < 3 && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5)) {
                Thread.sleep(5);
            }
            assertThat(rounds.get()).isEqualTo(3);
        }
    }

    @Test
    void aFailingStepIsRetriedAndCloseStopsAWaitingStep() throws Exception {
        AtomicInteger rounds = new AtomicInteger();
        CountDownLatch never = new CountDownLatch(1);
        Worker w = Worker.start("test-failing", () -> {
            if (rounds.incrementAndGet() == 1) {
                throw new IllegalStateException("first round fails");
            }
            never.await(); // blocks until interrupted by close
            return Duration.ZERO;
        });
        long t0 = System.nanoTime();
        while (rounds.get() < 2 && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5)) {
            Thread.sleep(10);
        }
        assertThat(rounds.get()).isEqualTo(2); // retried after Worker.RETRY
        long c0 = System.nanoTime();
        w.close();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - c0)).isLessThan(Worker.JOIN.toMillis());
        assertThat(w.closed()).isTrue();
        Thread.sleep(50);
        assertThat(rounds.get()).isEqualTo(2);
    }

    @Test
    void anUnstartedWorkerRunsNothingUntilStartedKeepsAnEarlyWakeAndNeverStartsOnceClosed() throws Exception {
        AtomicInteger rounds = new AtomicInteger();
        CountDownLatch twice = new CountDownLatch(2);
        try (Worker w = Worker.unstarted("test-unstarted", () -> {
            rounds.incrementAndGet();
            twice.countDown();
            return Duration.ofHours(1);
        })) {
            w.wake();
            Thread.sleep(100);
            assertThat(rounds.get()).as("nothing runs before start").isZero();
            w.start();
            w.start(); // a second start is nothing
            assertThat(twice.await(5, TimeUnit.SECONDS)).as("the wake given before the start ends the first sleep")
                    .isTrue();
        }
        AtomicInteger never = new AtomicInteger();
        Worker closedFirst = Worker.unstarted("test-closed-first", () -> {
            never.incrementAndGet();
            return Duration.ZERO;
        });
        closedFirst.close();
        closedFirst.start();
        Thread.sleep(100);
        assertThat(never.get()).isZero();
    }
}
