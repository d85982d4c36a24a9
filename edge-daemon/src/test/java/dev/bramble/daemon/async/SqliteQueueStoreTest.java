package dev.bramble.daemon.async;

import dev.bramble.daemon.store.Database;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The queue's store on a real SQLite file: what it keeps, across a reopen, and how its one writer commits. */
class SqliteQueueStoreTest {
    @TempDir
    Path dir;

    static AsyncQueue.Entry entry(String id, String function, String source) {
        return new AsyncQueue.Entry(id, function, null, source, "{}".getBytes(StandardCharsets.UTF_8), null);
    }

    /** Submits a write that holds the writer until {@code release}; returns once the writer has taken it. */
    static Future<?> hold(SqliteQueueStore store, ExecutorService callers, CountDownLatch release)
            throws InterruptedException {
        CountDownLatch writing = new CountDownLatch(1);
        Future<?> holder = callers.submit(() -> store.write(c -> {
            writing.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
                return null;
            } catch (InterruptedException e) {
                throw new SQLException("interrupted", e);
            }
        }));
        assertThat(writing.await(10, TimeUnit.SECONDS)).as("the writer holds the first write").isTrue();
        return holder;
    }

    @Test
    void jobsAreDueInOrderRetriedLaterGivenUpAndKeptAcrossAReopen() {
        Database db = Database.open(dir);
        try (SqliteQueueStore store = SqliteQueueStore.open(db)) {
            store.add(List.of(entry("a", "f", "invoke"), entry("b", "f", "schedule:f/tick")), 1_000);
            store.add(List.of(entry("c", "g", "invoke")), 2_000);
            List<Job> due = store.due(2_000, 10, Set.of());
            assertThat(due).extracting(Job::requestId).containsExactly("a", "b", "c");
            assertThat(store.due(2_000, 10, Set.of(due.get(0).id()))).extracting(Job::requestId)
                    .containsExactly("b", "c");
            assertThat(store.due(2_000, 1, Set.of())).extracting(Job::requestId).containsExactly("a");

            store.retryAt(due.get(0).id(), 1, "boom", 60_000);
            assertThat(store.due(59_999, 10, Set.of())).extracting(Job::requestId).containsExactly("b", "c");
            assertThat(store.nextDue()).isEqualTo(1_000); // b
            DeadLetter letter = store.deadLetter(due.get(2), DeadLetter.Reason.RETRIES_EXHAUSTED, "x".repeat(5_000),
                    3, 3_000);
            assertThat(letter.error()).as("errors are cut to 4,096 characters").hasSize(4_096);
            store.remove(due.get(1).id());
            assertThat(store.count()).isEqualTo(1);
            assertThat(store.pending("invoke")).isEqualTo(1);
            assertThat(store.pending("schedule:f/tick")).isZero();
        }
        try (SqliteQueueStore store = SqliteQueueStore.open(Database.open(dir))) {
            List<Job> kept = store.due(60_000, 10, Set.of());
            assertThat(kept).hasSize(1);
            Job a = kept.get(0);
            assertThat(a.requestId()).isEqualTo("a");
            assertThat(a.attempts()).isEqualTo(1);
            assertThat(a.lastError()).isEqualTo("boom");
            assertThat(a.enqueuedAt().toEpochMilli()).isEqualTo(1_000);
            assertThat(store.deadLetters(null, 0, 10)).singleElement().satisfies(d -> {
                assertThat(d.requestId()).isEqualTo("c");
                assertThat(d.reason()).isEqualTo(DeadLetter.Reason.RETRIES_EXHAUSTED);
                assertThat(d.attempts()).isEqualTo(3);
            });
            assertThat(store.deadLetters("f", 0, 10)).isEmpty();
            assertThat(store.summary()).isEqualTo(new QueueStore.Summary(1_000, 1));
            assertThat(store.byFunction(11_000)).containsExactly(
                    java.util.Map.entry("f", new AsyncQueue.FunctionQueue(1, 10_000, 0)),
                    java.util.Map.entry("g", new AsyncQueue.FunctionQueue(0, 0, 1)));
            store.remove(a.id());
            assertThat(store.nextDue()).isEqualTo(Long.MAX_VALUE);
            assertThat(store.summary()).isEqualTo(new QueueStore.Summary(0, 1));
        }
    }

    @Test
    void writesThatGatherWhileTheWriterIsBusyShareOneCommit() throws Exception {
        try (SqliteQueueStore store = SqliteQueueStore.open(Database.open(dir));
             ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch release = new CountDownLatch(1);
            Future<?> holder = hold(store, callers, release);
            long before = store.commits();
            List<Future<?>> adds = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String id = "r" + i;
                adds.add(callers.submit(() -> store.add(List.of(entry(id, "f", "invoke")), 1_000)));
            }
            await().until(() -> store.waiting() == 20);
            release.countDown();
            holder.get(10, TimeUnit.SECONDS);
            for (Future<?> f : adds) {
                f.get(10, TimeUnit.SECONDS);
            }
            assertThat(store.count()).isEqualTo(20);
            assertThat(store.commits() - before).as("the held write, then the twenty together").isEqualTo(2);
        }
    }

    @Test
    void aBadWriteInASharedCommitFailsOnlyItsOwnCaller() throws Exception {
        try (SqliteQueueStore store = SqliteQueueStore.open(Database.open(dir));
             ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch release = new CountDownLatch(1);
            Future<?> holder = hold(store, callers, release);
            List<Future<?>> adds = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                String id = "r" + i;
                adds.add(callers.submit(() -> store.add(List.of(entry(id, "f", "invoke")), 1_000)));
            }
            Future<?> bad = callers.submit(() -> store.write(c -> {
                throw new SQLException("disk I/O error");
            }));
            for (int i = 3; i < 6; i++) {
                String id = "r" + i;
                adds.add(callers.submit(() -> store.add(List.of(entry(id, "f", "invoke")), 1_000)));
            }
            await().until(() -> store.waiting() == 7);
            release.countDown();
            holder.get(10, TimeUnit.SECONDS);
            for (Future<?> f : adds) {
                f.get(10, TimeUnit.SECONDS);
            }
            assertThatThrownBy(() -> bad.get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("asynchronous queue write failed: disk I/O error");
            assertThat(store.count()).isEqualTo(6);
        }
    }

    @Test
    void aWriteThatThrowsAnErrorFailsOnlyItsCallerRollsBackWhatSharedItsCommitAndTheWriterGoesOn()
            throws Exception {
        try (SqliteQueueStore store = SqliteQueueStore.open(Database.open(dir));
             ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch release = new CountDownLatch(1);
            Future<?> holder = hold(store, callers, release);
            Future<?> add = callers.submit(() -> store.add(List.of(entry("shared", "f", "invoke")), 1_000));
            await().until(() -> store.waiting() == 1);
            Future<?> error = callers.submit(() -> store.write(c -> {
                throw new StackOverflowError("deep");
            }));
            await().until(() -> store.waiting() == 2);
            release.countDown();
            holder.get(10, TimeUnit.SECONDS);
            add.get(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> error.get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("deep");
            assertThat(store.count()).as("the shared commit rolled back, then the add stored once").isEqualTo(1);
            store.add(List.of(entry("after", "f", "invoke")), 1_000);
            assertThat(store.count()).isEqualTo(2);
        }
    }

    @Test
    void aClosedStoreRefusesWritesAndSaysSo() {
        SqliteQueueStore store = SqliteQueueStore.open(Database.open(dir));
        store.add(List.of(entry("a", "f", "invoke")), 1_000);
        store.close();
        assertThatThrownBy(() -> store.add(List.of(entry("b", "f", "invoke")), 1_000))
                .isInstanceOf(IllegalStateException.class).hasMessage("the asynchronous queue is closed");
        try (SqliteQueueStore again = SqliteQueueStore.open(Database.open(dir))) {
            assertThat(again.count()).isEqualTo(1);
        }
    }
}
