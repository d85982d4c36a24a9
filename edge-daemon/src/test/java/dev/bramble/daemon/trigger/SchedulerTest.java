package dev.bramble.daemon.trigger;

import dev.bramble.daemon.TestClock;
import dev.bramble.daemon.store.Database;
import dev.bramble.protocol.ScheduleExpression;
import dev.bramble.protocol.Trigger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Schedules on a clock the test moves, with their state in a real state.db. */
class SchedulerTest {
    @TempDir
    Path dir;

    private final List<String> calls = new ArrayList<>();
    private final TestClock clock = TestClock.frozenAt(Instant.parse("2026-11-22T10:00:03Z"));

    private Scheduler scheduler(Database db) {
        return new Scheduler(db, clock, new Scheduler.Sink() {
            @Override
            public void fire(Scheduler.Schedule s, Instant time) {
                calls.add("fire " + s.trigger().name() + " " + time);
            }

            @Override
            public void skipped(Scheduler.Schedule s, Instant latest) {
                calls.add("skip " + s.trigger().name() + " " + latest);
            }

            @Override
            public void warm(Scheduler.Schedule s, Instant runAt) {
                calls.add("warm " + s.trigger().name() + " at " + clock.instant());
            }
        });
    }

    private static Scheduler.Schedule schedule(String name, String expression, Trigger.MissedRuns missed,
                                               int warmUp, String zone) {
        return new Scheduler.Schedule("fn", new Trigger.Schedule(name, ScheduleExpression.parse(expression),
                ZoneId.of(zone), missed, false, warmUp, "{}"));
    }

    private void tickAt(String instant, Scheduler s) {
        clock.set(Instant.parse(instant));
        s.tick(clock.instant());
    }

    @Test
    void aRateRunsOnItsMultiplesAndTellsWhenItIsNextDue() {
        try (Scheduler s = scheduler(Database.open(dir))) {
            s.update(List.of(schedule("beat", "rate(10 seconds)", Trigger.MissedRuns.SKIP, 0, "UTC")));
            assertThat(s.tick(clock.instant())).isEqualTo(Instant.parse("2026-11-22T10:00:04Z")); // at most a second's sleep
            tickAt("2026-11-22T10:00:09.500Z", s);
            assertThat(s.tick(clock.instant())).isEqualTo(Instant.parse("2026-11-22T10:00:10Z"));
            tickAt("2026-11-22T10:00:10.004Z", s);
            tickAt("2026-11-22T10:00:10.900Z", s);
            tickAt("2026-11-22T10:00:20.001Z", s);
            assertThat(calls).containsExactly("fire beat 2026-11-22T10:00:10Z", "fire beat 2026-11-22T10:00:20Z");
        }
    }

    @Test
    void cronRunsInTheSchedulesTimeZone() {
        try (Scheduler s = scheduler(Database.open(dir))) {
            // 08:30 in Berlin is 07:30 UTC in November.
            clock.set(Instant.parse("2026-11-22T07:00:00Z"));
            s.update(List.of(schedule("morning", "cron(30 8 * * ? *)", Trigger.MissedRuns.SKIP, 0,
                    "Europe/Berlin")));
            tickAt("2026-11-22T07:29:59Z", s);
            tickAt("2026-11-22T07:30:00.200Z", s);
            tickAt("2026-11-23T07:30:01Z", s);
            assertThat(calls).containsExactly("fire morning 2026-11-22T07:30:00Z", "fire morning 2026-11-23T07:30:00Z");
        }
    }

    @Test
    void runsMissedWhileTheDaemonWasDownAreSkippedOrRunOnceAsEachScheduleSays() {
        Database db = Database.open(dir);
        List<Scheduler.Schedule> both = List.of(
                schedule("skipper", "cron(0/15 * * * ? *)", Trigger.MissedRuns.SKIP, 0, "UTC"),
                schedule("catcher", "cron(0/15 * * * ? *)", Trigger.MissedRuns.RUN_ONCE, 0, "UTC"));
        try (Scheduler s = scheduler(db)) {
            s.update(both);
            tickAt("2026-11-22T10:15:00.100Z", s);
        }
        assertThat(calls).containsExactlyInAnyOrder("fire skipper 2026-11-22T10:15:00Z",
                "fire catcher 2026-11-22T10:15:00Z");
        calls.clear();
        // Down from 10:16 until 11:07: the runs at 10:30, 10:45 and 11:00 were missed.
        clock.set(Instant.parse("2026-11-22T11:07:00Z"));
        try (Scheduler s = scheduler(db)) {
            s.update(both);
            s.tick(clock.instant());
            assertThat(calls).containsExactlyInAnyOrder("skip skipper 2026-11-22T11:00:00Z",
                    "fire catcher 2026-11-22T11:00:00Z");
            calls.clear();
            tickAt("2026-11-22T11:15:00.050Z", s);
            assertThat(calls).containsExactlyInAnyOrder("fire skipper 2026-11-22T11:15:00Z",
                    "fire catcher 2026-11-22T11:15:00Z");
        }
    }

    @Test
    void aNewScheduleStartsFromNowAndARunWithinTheGraceIsOnTime() {
        try (Scheduler s = scheduler(Database.open(dir))) {
            clock.set(Instant.parse("2026-11-22T10:14:59Z"));
            s.update(List.of(schedule("late", "cron(0/15 * * * ? *)", Trigger.MissedRuns.SKIP, 0, "UTC")));
            tickAt("2026-11-22T10:15:04Z", s); // a slow tick, 4 s late: still on time
            assertThat(calls).containsExactly("fire late 2026-11-22T10:15:00Z");
        }
    }

    @Test
    void aWarmUpComesOnceBeforeEachRun() {
        try (Scheduler s = scheduler(Database.open(dir))) {
            s.update(List.of(schedule("warm", "rate(1 minute)", Trigger.MissedRuns.SKIP, 5, "UTC")));
            tickAt("2026-11-22T10:00:54Z", s);
            tickAt("2026-11-22T10:00:55.500Z", s);
            tickAt("2026-11-22T10:00:57Z", s);
            tickAt("2026-11-22T10:01:00.010Z", s);
            assertThat(calls).containsExactly("warm warm at 2026-11-22T10:00:55.500Z",
                    "fire warm 2026-11-22T10:01:00Z");
        }
    }
}
