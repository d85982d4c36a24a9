package dev.bramble.daemon.trigger;

import dev.bramble.daemon.store.Database;
import dev.bramble.daemon.work.Worker;
import dev.bramble.protocol.Trigger;

import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Fires schedule triggers. When each schedule last ran is kept in SQLite, so after a restart (or a suspended device)
 * the runs that fell due meanwhile are known: a run more than {@link #GRACE} late is a missed one, and the
 * schedule's policy decides whether the most recent of them runs once or all are skipped. Time is the injected
 * clock's; {@link #tick} does one round and is what tests drive.
 */
final class Scheduler implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Scheduler.class.getName());
    /** A run this late still counts as on time. */
    static final Duration GRACE = Duration.ofSeconds(5);
    private static final Duration MAX_SLEEP = Duration.ofSeconds(1);

    /** One active schedule: its function and trigger. */
    record Schedule(String function, Trigger.Schedule trigger) {
        String id() {
            return function + "/" + trigger.name();
        }
    }

    /** Where runs go. */
    interface Sink {
        /** A run is due; {@code time} is when it was scheduled. */
        void fire(Schedule schedule, Instant time);

        /** Runs were missed and the policy skips them. */
        void skipped(Schedule schedule, Instant latest);

        /** A run comes within the schedule's warm-up time: the one at {@code runAt}. */
        void warm(Schedule schedule, Instant runAt);
    }

    private final Connection connection;
    private final Clock clock;
    private final Sink sink;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Schedule> schedules = new HashMap<>();
    private final Map<String, Instant> lastRun = new HashMap<>();
    private final Map<String, Instant> warmedFor = new java.util.concurrent.ConcurrentHashMap<>();
    private Worker worker;

    Scheduler(Database database, Clock clock, Sink sink) {
        this.clock = clock;
        this.sink = sink;
        try {
            this.connection = database.connect();
        } catch (SQLException e) {
            throw new IllegalStateException("cannot open schedule state: " + e.getMessage(), e);
        }
    }

    /** Runs {@link #tick} on a worker of its own until closed. */
    Scheduler start() {
        worker = Worker.start("bramble-scheduler", () -> {
            Instant wake = tick(clock.instant());
            return Duration.ofMillis(Math.max(1, Math.min(MAX_SLEEP.toMillis(), Duration.between(clock.instant(),
                    wake).toMillis())));
        });
        return this;
    }

    /** The active schedules; new ones start counting from now, removed ones forget nothing stored. */
    void update(List<Schedule> active) {
        lock.lock();
        try {
            schedules.clear();
            Instant now = clock.instant();
            for (Schedule s : active) {
                schedules.put(s.id(), s);
                if (!lastRun.containsKey(s.id())) {
                    Optional<Instant> stored = load(s);
                    if (stored.isPresent()) {
                        lastRun.put(s.id(), stored.get());
                    } else {
                        lastRun.put(s.id(), now);
                        save(s, now);
                    }
                }
            }
            lastRun.keySet().retainAll(schedules.keySet());
            warmedFor.keySet().retainAll(schedules.keySet());
        } finally {
            lock.unlock();
        }
        if (worker != null) {
            worker.wake();
        }
    }

    /** Fires what is due at {@code now}; returns when the next thing is due. */
    Instant tick(Instant now) {
        Instant wake = now.plus(MAX_SLEEP);
        List<Schedule> active;
        lock.lock();
        try {
            active = List.copyOf(schedules.values());
        } finally {
            lock.unlock();
        }
        for (Schedule s : active) {
            Trigger.Schedule t = s.trigger();
            Instant last;
            lock.lock();
            try {
                last = lastRun.get(s.id());
            } finally {
                lock.unlock();
            }
            if (last == null) {
                continue;
            }
            Optional<Instant> nextOpt = t.expression().next(last, t.timezone());
            if (nextOpt.isEmpty()) {
                continue;
            }
            Instant next = nextOpt.get();
            if (next.isAfter(now)) {
                Instant warmAt = next.minusSeconds(t.warmUpSeconds());
                if (t.warmUpSeconds() > 0 && !warmAt.isAfter(now) && !next.equals(warmedFor.get(s.id()))) {
                    warmedFor.put(s.id(), next);
                    sink.warm(s, next);
                } else if (t.warmUpSeconds() > 0 && warmAt.isAfter(now) && warmAt.isBefore(wake)) {
                    wake = warmAt;
                }
                if (next.isBefore(wake)) {
                    wake = next;
                }
                continue;
            }
            Instant latest = t.expression().previous(now, t.timezone()).orElse(next);
            boolean onTime = !Duration.between(latest, now).minus(GRACE).isPositive();
            if (latest.isAfter(next) || !onTime) {
                LOG.log(Level.INFO, "schedule.missed schedule={0} since={1} policy={2}", s.id(), last,
                        t.missed().json());
            }
            if (onTime || t.missed() == Trigger.MissedRuns.RUN_ONCE) {
                sink.fire(s, latest);
            } else {
                sink.skipped(s, latest);
            }
            lock.lock();
            try {
                if (schedules.containsKey(s.id())) {
                    lastRun.put(s.id(), latest);
                    save(s, latest);
                }
            } finally {
                lock.unlock();
            }
        }
        return wake;
    }

    private Optional<Instant> load(Schedule s) {
        try (PreparedStatement q = connection.prepareStatement(
                "SELECT last_run FROM schedule_runs WHERE function = ? AND trigger = ?")) {
            q.setString(1, s.function());
            q.setString(2, s.trigger().name());
            try (ResultSet rs = q.executeQuery()) {
                return rs.next() ? Optional.of(Instant.ofEpochMilli(rs.getLong(1))) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("schedule state read failed: " + e.getMessage(), e);
        }
    }

    private void save(Schedule s, Instant run) {
        try (PreparedStatement u = connection.prepareStatement("INSERT INTO schedule_runs (function, trigger, "
                + "last_run) VALUES (?, ?, ?) ON CONFLICT (function, trigger) DO UPDATE SET last_run = "
                + "excluded.last_run")) {
            u.setString(1, s.function());
            u.setString(2, s.trigger().name());
            u.setLong(3, run.toEpochMilli());
            u.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("schedule state write failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (worker != null) {
            worker.close();
        }
        try {
            connection.close();
        } catch (SQLException e) {
            LOG.log(Level.WARNING, "schedule.close-failed error={0}", e.toString());
        }
    }
}
