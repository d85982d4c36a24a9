package dev.bramble.daemon.function;

import dev.bramble.daemon.TestClock;
import dev.bramble.daemon.store.Database;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Saved test events on a real SQLite file. */
class TestEventsTest {
    @TempDir
    Path dir;

    private final TestClock clock = TestClock.frozenAt(Instant.parse("2026-12-02T10:00:00Z"));

    @Test
    void savedEventsAreListedByNameReplacedInPlaceAndSurviveAReopen() {
        TestEvents events = new TestEvents(Database.open(dir), clock);
        assertThat(events.put("fn", "b-event", "{\"n\":1}")).isTrue();
        assertThat(events.put("fn", "a.event", "[]")).isTrue();
        clock.advance(Duration.ofMinutes(1));
        assertThat(events.put("fn", "b-event", "{\"n\":2}")).isFalse();
        assertThat(events.put("other", "b-event", "{}")).isTrue();

        List<TestEvents.Saved> saved = new TestEvents(Database.open(dir), clock).list("fn");
        assertThat(saved).extracting(TestEvents.Saved::name).containsExactly("a.event", "b-event");
        assertThat(saved.get(1).event()).isEqualTo("{\"n\":2}");
        assertThat(saved.get(1).updatedAt()).isEqualTo(clock.instant());
        assertThat(saved.get(0).updatedAt()).isEqualTo(clock.instant().minus(Duration.ofMinutes(1)));
    }

    @Test
    void theEleventhIsRefusedButTheTenCanStillBeReplacedAndOneDeletedMakesRoom() {
        TestEvents events = new TestEvents(Database.open(dir), clock);
        for (int i = 0; i < TestEvents.MAX_PER_FUNCTION; i++) {
            events.put("fn", "e" + i, "{}");
        }
        assertThatThrownBy(() -> events.put("fn", "one-more", "{}")).isInstanceOf(TestEvents.FullException.class)
                .hasMessageContaining("already has 10 saved test events").hasMessageContaining("delete one first");
        assertThat(events.put("fn", "e3", "{\"replaced\":true}")).isFalse();
        assertThat(events.put("another-function", "e0", "{}")).isTrue();
        assertThat(events.delete("fn", "e0")).isTrue();
        assertThat(events.delete("fn", "e0")).isFalse();
        assertThat(events.put("fn", "one-more", "{}")).isTrue();
        assertThat(events.list("fn")).hasSize(TestEvents.MAX_PER_FUNCTION);
    }

    @Test
    void manyWritersAtOnceNeverGetPastTheCap() throws Exception {
        Database db = Database.open(dir);
        // two instances over one file: the cap must hold in SQLite itself, not in a lock one instance keeps
        TestEvents first = new TestEvents(db, clock);
        TestEvents second = new TestEvents(db, clock);
        int writers = 40;
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger refused = new AtomicInteger();
        List<Future<Boolean>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(16)) {
            for (int i = 0; i < writers; i++) {
                TestEvents events = i % 2 == 0 ? first : second;
                String name = "w" + i;
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        return events.put("fn", name, "{\"writer\":\"" + name + "\"}");
                    } catch (TestEvents.FullException e) {
                        refused.incrementAndGet();
                        return false;
                    }
                }));
            }
            go.countDown();
            int created = 0;
            for (Future<Boolean> r : results) {
                created += r.get() ? 1 : 0;
            }
            assertThat(created).isEqualTo(TestEvents.MAX_PER_FUNCTION);
            assertThat(refused).hasValue(writers - TestEvents.MAX_PER_FUNCTION);
        }
        assertThat(first.list("fn")).hasSize(TestEvents.MAX_PER_FUNCTION)
                .allSatisfy(e -> assertThat(e.event()).isEqualTo("{\"writer\":\"" + e.name() + "\"}"));
    }

    @Test
    void namesFollowLambdasRule() {
        assertThat(TestEvents.NAME.matcher("a").matches()).isTrue();
        assertThat(TestEvents.NAME.matcher("My_event-2.v1").matches()).isTrue();
        assertThat(TestEvents.NAME.matcher("x".repeat(25)).matches()).isTrue();
        for (String bad : new String[]{"", "x".repeat(26), "a b", "../up", "a/b", "é", "<img>"}) {
            assertThat(TestEvents.NAME.matcher(bad).matches()).as(bad).isFalse();
        }
    }
}
