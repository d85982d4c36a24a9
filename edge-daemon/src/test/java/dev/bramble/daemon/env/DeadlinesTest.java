package dev.bramble.daemon.env;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The invocations' deadlines: each fails on time, whatever came before it, and a finished one is forgotten. */
class DeadlinesTest {
    private final Deadlines deadlines = new Deadlines();

    @AfterEach
    void close() {
        deadlines.close();
    }

    @Test
    void failsAFutureAtItsDeadline() {
        long t0 = System.nanoTime();
        CompletableFuture<String> f = deadlines.within(new CompletableFuture<>(), 200);
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(TimeoutException.class);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(ms).isBetween(190L, 1_500L);
        assertThat(deadlines.size()).isZero();
    }

    @Test
    void forgetsAFutureThatCompletes() throws Exception {
        CompletableFuture<String> f = deadlines.within(new CompletableFuture<>(), 60_000);
        assertThat(deadlines.size()).isOne();
        f.complete("answer");
        assertThat(deadlines.size()).isZero();
        assertThat(f.get()).isEqualTo("answer");
    }

    @Test
    void anEarlierDeadlineAfterALaterOneStillFiresOnTime() {
        CompletableFuture<String> late = deadlines.within(new CompletableFuture<>(), 60_000);
        long t0 = System.nanoTime();
        CompletableFuture<String> early = deadlines.within(new CompletableFuture<>(), 200);
        assertThatThrownBy(() -> early.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(TimeoutException.class);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(1_500L);
        assertThat(late).isNotDone();
    }

    @Test
    void aDeadlineAfterAQuietSpellWakesTheThread() throws Exception {
        deadlines.within(new CompletableFuture<>(), 60_000).complete("x");
        Thread.sleep(2_500); // past the quiet plan: the thread now sleeps until woken
        long t0 = System.nanoTime();
        CompletableFuture<String> f = deadlines.within(new CompletableFuture<>(), 200);
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(TimeoutException.class);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(1_500L);
    }

    @Test
    void registrationsFromManyThreadsAtOnceAllEndOneWayOrTheOther() throws Exception {
        List<CompletableFuture<Integer>> all = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 1_000; i++) {
                    CompletableFuture<Integer> f = deadlines.within(new CompletableFuture<>(),
                            ThreadLocalRandom.current().nextLong(100, 400));
                    all.add(f);
                    if (i % 2 == 0) {
                        f.complete(i);
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> all.stream().allMatch(CompletableFuture::isDone));
        long timedOut = all.stream().filter(CompletableFuture::isCompletedExceptionally).count();
        assertThat(timedOut).isEqualTo(4_000);
        assertThat(deadlines.size()).isZero();
    }
}
