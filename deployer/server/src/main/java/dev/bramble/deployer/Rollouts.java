package dev.bramble.deployer;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.bramble.protocol.DeploymentErrorCode;
import dev.bramble.protocol.DeploymentReport;
import dev.bramble.protocol.DeviceRolloutState;
import dev.bramble.protocol.RolloutState;

import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.bramble.deployer.Sql.in;
import static dev.bramble.deployer.Sql.integerOrNull;
import static dev.bramble.deployer.Sql.number;
import static dev.bramble.deployer.Sql.row;
import static dev.bramble.deployer.Sql.rows;
import static dev.bramble.deployer.Sql.tags;
import static dev.bramble.deployer.Sql.update;
import static dev.bramble.protocol.DeviceRolloutState.FAILED;
import static dev.bramble.protocol.DeviceRolloutState.PENDING;
import static dev.bramble.protocol.DeviceRolloutState.ROLLED_BACK;
import static dev.bramble.protocol.DeviceRolloutState.SKIPPED;
import static dev.bramble.protocol.DeviceRolloutState.SUCCEEDED;
import static dev.bramble.protocol.DeviceRolloutState.SUPERSEDED;
import static dev.bramble.protocol.DeviceRolloutState.TIMED_OUT;
import static dev.bramble.protocol.DeviceRolloutState.WAITING;

/**
 * Rollouts: a function's version released to the devices a target selects, following its {@link RolloutPlan}. A
 * step (on a report, an operator's action, or the ticker each second) times out devices past their deadline,
 * halts past a threshold, releases what the waves and the rate allow, and ends the rollout when nothing is left, so
 * no rollout stays in progress forever. Each step holds the rollout's row lock ({@code FOR UPDATE} on PostgreSQL),
 * so with several replicas exactly one takes it at a time; states move only along the transitions of
 * {@link RolloutState} and {@link DeviceRolloutState}.
 */
final class Rollouts implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Rollouts.class.getName());
    private static final Pattern TARGET = Pattern.compile("(device|group):([A-Za-z0-9_.-]{1,64})|tag:([A-Za-z0-9_.-]{1,64})=(.{1,128})");
    private static final Duration TICK = Duration.ofSeconds(1);
    /** How soon the ticker steps a rollout whose report found its lock taken. */
    private static final Duration SOON = Duration.ofMillis(50);

    private final Database db;
    private final Clock clock;
    private final DesiredStates desired;
    private final Thread ticker;
    /** Rollouts to step soon: a report found their lock taken. */
    private final Set<String> dirty = ConcurrentHashMap.newKeySet();
    /** Rollouts a report on this replica is stepping right now. */
    private final Set<String> stepping = ConcurrentHashMap.newKeySet();
    private final Semaphore nudge = new Semaphore(0);
    private volatile boolean closed;

    Rollouts(Database db, Clock clock, DesiredStates desired) {
        this.db = db;
        this.clock = clock;
        this.desired = desired;
        this.ticker = Thread.ofPlatform().name("bramble-rollouts").daemon(true).unstarted(this::tickLoop);
    }

    /** Starts the ticker that enforces deadlines and rates between reports. */
    Rollouts start() {
        ticker.start();
        return this;
    }

    @Override
    public void close() {
        closed = true;
        if (!ticker.isAlive()) {
            return;
        }
        ticker.interrupt();
        try {
            ticker.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private long now() {
        return clock.millis();
    }

    /**
     * Starts a rollout of {@code function:version} (a number, an alias or {@code latest}) to a target
     * ({@code device:ID}, {@code group:NAME}, {@code tag:K=V}) under a plan.
     */
    Map<String, Object> deploy(String function, String versionOrAlias, String target, RolloutPlan plan) {
        return start(function, c -> Catalog.resolve(c, function, versionOrAlias), versionOrAlias, target, plan);
    }

    /**
     * Starts an undeploy: a rollout, under a plan like any other, that has each device the target selects delete
     * the function and report it.
     */
    Map<String, Object> undeploy(String function, String target, RolloutPlan plan) {
        return start(function, c -> {
            Catalog.resolve(c, function, "latest"); // a function the catalog knows: a typo is an error, not a no-op
            return DesiredStates.REMOVED;
        }, "none", target, plan);
    }

    private interface VersionOf {
        int resolve(Connection c) throws SQLException;
    }

    private Map<String, Object> start(String function, VersionOf versionOf, String versionOrAlias, String target,
                                      RolloutPlan plan) {
        Matcher m = TARGET.matcher(target == null ? "" : target);
        if (!m.matches()) {
            throw ApiError.badRequest("target '" + target + "' is not allowed; use device:ID, group:NAME or tag:K=V");
        }
        String id = UUID.randomUUID().toString();
        db.tx(c -> {
            int version = versionOf.resolve(c);
            // The rollouts this one may supersede devices of, locked first (in id order, as every transaction does).
            for (Map<String, Object> older : rows(c, "SELECT id FROM deployments WHERE function = ? AND state IN (?, ?) "
                    + "ORDER BY id", function, RolloutState.IN_PROGRESS.wire(), RolloutState.PAUSED.wire())) {
                lock(c, (String) older.get("id"));
            }
            List<String> devices = new ArrayList<>();
            // A revoked device takes part in no new rollout: it would never report.
            for (Map<String, Object> d : rows(c, "SELECT id, grp, tags FROM devices WHERE revoked_at IS NULL ORDER BY "
                    + "id")) {
                boolean hit = switch (m.group(1) == null ? "tag" : m.group(1)) {
                    case "device" -> d.get("id").equals(m.group(2));
                    case "group" -> m.group(2).equals(d.get("grp"));
                    default -> m.group(4).equals(tags((String) d.get("tags")).get(m.group(3)));
                };
                if (hit) {
                    devices.add((String) d.get("id"));
                }
            }
            if (devices.isEmpty()) {
                throw ApiError.badRequest("target '" + target + "' matches no device (revoked devices are left "
                        + "out)");
            }
            int first = plan.firstWave(devices.size());
            long now = now();
            update(c, "INSERT INTO deployments (id, function, version, target, canary, max_failures, state, plan, "
                            + "credit, credit_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                    id, function, version, target, first < devices.size() ? first : 0,
                    plan.maxFailures() == null ? -1 : plan.maxFailures(), RolloutState.IN_PROGRESS.wire(),
                    Sql.json(plan), now, now, now);
            // A newer rollout of the function takes over from older ones still under way on these devices.
            Sql.chunked(devices, (chunk, marks) -> update(c, "UPDATE deployment_devices SET state = ?, updated_at = ? "
                    + "WHERE state IN " + in(DeviceRolloutState.from(SUPERSEDED)) + " AND deployment IN (SELECT id FROM "
                    + "deployments WHERE function = ?) AND device IN " + marks, Sql.args(chunk, SUPERSEDED.wire(), now,
                    function)));
            List<Object[]> members = new ArrayList<>(devices.size());
            for (int i = 0; i < devices.size(); i++) {
                members.add(new Object[]{id, devices.get(i), i < first ? 0 : 1, WAITING.wire(), now});
            }
            Sql.batch(c, "INSERT INTO deployment_devices (deployment, device, wave, state, updated_at) VALUES (?, ?, ?, "
                    + "?, ?)", members);
            step(c, id);
            return null;
        });
        desired.changed();
        LOG.log(Level.INFO, "deployment.started id={0} function={1} version={2} target={3} plan={4}", id, function,
                versionOrAlias, target, Sql.json(plan));
        return deployment(id);
    }

    /**
     * What a device says about a rollout. A failure puts the device's desired state back on what it had (the
     * device kept or restored it); a report on a device that is no longer pending (repeated, late, superseded)
     * changes nothing.
     */
    void report(String device, DeploymentReport r) {
        if (r.state() != SUCCEEDED && r.state() != FAILED) {
            throw ApiError.badRequest("state '" + (r.state() == null ? null : r.state().wire()) + "' is not allowed; "
                    + "allowed: [succeeded, failed]");
        }
        String code = null;
        if (r.state() == FAILED) {
            code = DeploymentErrorCode.reported(r.errorCode()).map(Enum::name).orElseThrow(() -> ApiError.badRequest(
                    "errorCode '" + r.errorCode() + "' is not allowed for a failure; allowed: "
                            + DeploymentErrorCode.reportableNames()));
        }
        String errorCode = code;
        String error = r.error() == null ? null : r.error().length() > DeploymentReport.MAX_ERROR
                ? r.error().substring(0, DeploymentReport.MAX_ERROR) : r.error();
        // A report changes only its device's row, along that row's transitions, and takes no rollout lock: ten
        // thousand devices reporting at once do not queue behind one row. The step that follows is taken by
        // whoever holds the lock next (see stepAfterReport).
        boolean changed = db.tx(c -> {
            Map<String, Object> d = row(c, "SELECT function FROM deployments WHERE id = ?", r.deployment())
                    .orElseThrow(() -> ApiError.notFound("no deployment '" + r.deployment() + "'"));
            Map<String, Object> dd = row(c, "SELECT state, previous FROM deployment_devices WHERE deployment = ? AND "
                    + "device = ?", r.deployment(), device).orElseThrow(() -> new ApiError(403, "Forbidden",
                    "deployment " + r.deployment() + " does not concern device " + device));
            if (update(c, "UPDATE deployment_devices SET state = ?, error_code = ?, error = ?, updated_at = ? WHERE "
                    + "deployment = ? AND device = ? AND state IN " + in(DeviceRolloutState.from(r.state())),
                    r.state().wire(), errorCode, error, now(), r.deployment(), device) == 0) {
                LOG.log(Level.INFO, "deployment.report-ignored id={0} device={1} state={2} device_state={3}",
                        r.deployment(), device, r.state().wire(), dd.get("state"));
                return false;
            }
            if (r.state() == FAILED) {
                // The device runs its previous version; its desired state says so, or it would try again forever.
                desired.set(c, device, (String) d.get("function"), integerOrNull(dd.get("previous")), null);
            }
            return true;
        });
        if (changed) {
            desired.changed();
            // Each device's state is in the rollout's record; a line per success would be 10,000 lines a rollout.
            LOG.log(errorCode == null ? Level.DEBUG : Level.INFO, "deployment.report id={0} device={1} state={2} "
                    + "code={3}", r.deployment(), device, r.state().wire(), errorCode);
            stepAfterReport(r.deployment());
        }
    }

    /**
     * Steps a rollout after a report, here and now if its lock is free. If another transaction holds it (another
     * report's step, on this replica or another), that step may have counted before this report committed, so the
     * ticker steps the rollout again within {@link #SOON}: under a flood of reports the steps coalesce, one at a
     * time, instead of one per report in a queue.
     */
    private void stepAfterReport(String id) {
        if (!stepping.add(id)) {
            // this replica is stepping it right now: no need to ask the database whose turn it is
            soon(id);
            return;
        }
        try {
            Boolean stepped = stepIfFree(id);
            if (stepped != null) {
                desired.changed();
                return;
            }
        } catch (RuntimeException e) {
            // the report is stored; the ticker steps the rollout
            LOG.log(Level.WARNING, "deployment.step-failed id={0} error={1}", id, e.toString());
        } finally {
            stepping.remove(id);
        }
        soon(id);
    }

    private void soon(String id) {
        if (dirty.add(id)) {
            nudge.release();
        }
    }

    /**
     * The rollout's row, locked for this transaction where the database has row locks (SQLite has one writer).
     * Every transaction takes its rollouts' locks before it touches their devices, so two replicas never wait on
     * each other in a circle.
     */
    private Optional<Map<String, Object>> lock(Connection c, String id) throws SQLException {
        return row(c, SELECT_LOCKED + (db.sqlite() ? "" : " FOR UPDATE"), id);
    }

    private static final String SELECT_LOCKED = "SELECT id, function, version, state, plan, max_failures, credit, "
            + "credit_at FROM deployments WHERE id = ?";

    /** One step of a rollout under its lock; true when it changed anything. */
    private boolean step(Connection c, String id) throws SQLException {
        return step(c, lock(c, id).orElseThrow());
    }

    private boolean step(Connection c, Map<String, Object> d) throws SQLException {
        String id = (String) d.get("id");
        RolloutState state = RolloutState.of((String) d.get("state"));
        if (!state.open()) {
            return false;
        }
        RolloutPlan plan = plan(d);
        String function = (String) d.get("function");
        long now = now();
        boolean changed = false;
        // Deadlines: a released device that did not report in time counts as timed out and goes back to what it had.
        for (Map<String, Object> p : rows(c, "SELECT device, previous FROM deployment_devices WHERE deployment = ? AND "
                + "state = ? AND COALESCE(released_at, updated_at) <= ?", id, PENDING.wire(),
                now - plan.deviceTimeoutSeconds() * 1000)) {
            String device = (String) p.get("device");
            // a report that came in meanwhile (reports take no rollout lock) wins: then this changes nothing
            if (update(c, "UPDATE deployment_devices SET state = ?, error_code = ?, error = ?, updated_at = ? WHERE "
                    + "deployment = ? AND device = ? AND state IN " + in(DeviceRolloutState.from(TIMED_OUT)),
                    TIMED_OUT.wire(), DeploymentErrorCode.TIMED_OUT.name(), "no report within "
                            + Duration.ofSeconds(plan.deviceTimeoutSeconds()) + " of its release", now, id, device)
                    == 0) {
                continue;
            }
            desired.set(c, device, function, integerOrNull(p.get("previous")), null);
            LOG.log(Level.WARNING, "deployment.device-timed-out id={0} device={1}", id, device);
            changed = true;
        }
        Map<DeviceRolloutState, Long> counts = counts(c, id);
        Optional<String> halt = plan.haltReason(counts);
        if (halt.isPresent()) {
            skipWaiting(c, id, now);
            move(c, id, state, RolloutState.HALTED, halt.get());
            LOG.log(Level.WARNING, "deployment.halted id={0} reason={1}", id, halt.get());
            return true;
        }
        if (state == RolloutState.PAUSED) {
            return changed;
        }
        Map<Integer, long[]> waves = waves(c, id); // wave → {waiting, pending}
        long[] canary = waves.getOrDefault(0, new long[2]);
        int wave = canary[0] > 0 ? 0 : canary[1] > 0 ? -1 : 1;
        int eligible = wave < 0 ? 0 : (int) waves.getOrDefault(wave, new long[2])[0];
        long creditAt = d.get("credit_at") == null ? now : number(d.get("credit_at"));
        RolloutPlan.Release release = plan.release(((Number) d.get("credit")).doubleValue(), now - creditAt,
                counts.getOrDefault(SUCCEEDED, 0L), eligible);
        update(c, "UPDATE deployments SET credit = ?, credit_at = ? WHERE id = ?", release.credit(), now, id);
        if (release.devices() > 0) {
            List<String> released = rows(c, "SELECT device FROM deployment_devices WHERE deployment = ? AND wave = ? AND "
                    + "state = ? ORDER BY device LIMIT " + release.devices(), id, wave, WAITING.wire()).stream()
                    .map(w -> (String) w.get("device")).toList();
            // A few statements per chunk of devices, not a handful per device: an all-at-once rollout to 10,000
            // devices is released in well under a second, under the lock.
            Sql.chunked(released, (chunk, marks) -> update(c, "UPDATE deployment_devices SET state = ?, previous = "
                    + "(SELECT version FROM desired WHERE desired.device = deployment_devices.device AND "
                    + "desired.function = ?), released_at = ?, updated_at = ? WHERE deployment = ? AND state IN "
                    + in(DeviceRolloutState.from(PENDING)) + " AND device IN " + marks, Sql.args(chunk, PENDING.wire(),
                    function, now, now, id)));
            desired.setAll(c, released, function, (int) number(d.get("version")), id);
            LOG.log(Level.INFO, "deployment.released id={0} wave={1} devices={2}", id, wave, release.devices());
            changed = true;
        }
        if (eligible - release.devices() == 0) {
            long open = 0;
            for (long[] v : waves(c, id).values()) {
                open += v[0] + v[1];
            }
            if (open == 0) {
                move(c, id, state, RolloutState.SUCCEEDED, null);
                LOG.log(Level.INFO, "deployment.succeeded id={0} counts={1}", id, counts(c, id));
                return true;
            }
        }
        return changed;
    }

    private static RolloutPlan plan(Map<String, Object> d) {
        try {
            String json = (String) d.get("plan");
            // rollouts from before plans were stored: what they were started with meant this
            return json == null ? new RolloutPlan(0, 0, (int) number(d.get("max_failures")), null, null,
                    RolloutPlan.MAX_DEVICE_TIMEOUT_SECONDS)
                    : Sql.JSON.readValue(json, RolloutPlan.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("deployment " + d.get("id") + " has an unreadable plan: " + e.getMessage(),
                    e);
        }
    }

    private void skipWaiting(Connection c, String id, long now) throws SQLException {
        update(c, "UPDATE deployment_devices SET state = ?, updated_at = ? WHERE deployment = ? AND state = ?",
                SKIPPED.wire(), now, id, WAITING.wire());
    }

    /** Moves a rollout along one of its state's transitions; any other is a bug here, not the caller's. */
    private void move(Connection c, String id, RolloutState from, RolloutState to, String reason) throws SQLException {
        if (!from.canBecome(to)) {
            throw new IllegalStateException("deployment " + id + " cannot go from " + from.wire() + " to " + to.wire());
        }
        update(c, "UPDATE deployments SET state = ?, reason = ?, updated_at = ? WHERE id = ?", to.wire(), reason, now(),
                id);
    }

    private static Map<DeviceRolloutState, Long> counts(Connection c, String id) throws SQLException {
        Map<DeviceRolloutState, Long> counts = new EnumMap<>(DeviceRolloutState.class);
        for (Map<String, Object> r : rows(c, "SELECT state, COUNT(*) AS n FROM deployment_devices WHERE deployment = ? "
                + "GROUP BY state", id)) {
            counts.put(DeviceRolloutState.of((String) r.get("state")), number(r.get("n")));
        }
        return counts;
    }

    private static Map<Integer, long[]> waves(Connection c, String id) throws SQLException {
        Map<Integer, long[]> out = new LinkedHashMap<>();
        for (Map<String, Object> r : rows(c, "SELECT wave, state, COUNT(*) AS n FROM deployment_devices WHERE "
                + "deployment = ? AND state IN (?, ?) GROUP BY wave, state", id, WAITING.wire(), PENDING.wire())) {
            out.computeIfAbsent((int) number(r.get("wave")), k -> new long[2])[WAITING.wire().equals(r.get("state"))
                    ? 0 : 1] += number(r.get("n"));
        }
        return out;
    }

    /**
     * Takes a device out of every rollout still waiting on it (it was revoked): it is skipped with a code, and
     * each rollout steps on. Returns the rollouts it left.
     */
    List<String> leave(Connection c, String device, DeploymentErrorCode code, String message) throws SQLException {
        List<String> left = new ArrayList<>();
        for (Map<String, Object> r : rows(c, "SELECT deployment FROM deployment_devices WHERE device = ? AND state IN "
                + in(DeviceRolloutState.from(SKIPPED)) + " ORDER BY deployment", device)) {
            left.add((String) r.get("deployment"));
        }
        for (String deployment : left) {
            lock(c, deployment);
        }
        for (String deployment : left) {
            update(c, "UPDATE deployment_devices SET state = ?, error_code = ?, error = ?, updated_at = ? WHERE "
                    + "deployment = ? AND device = ? AND state IN " + in(DeviceRolloutState.from(SKIPPED)),
                    SKIPPED.wire(), code.name(), message, now(), deployment, device);
            step(c, deployment);
        }
        return left;
    }

    // --- the operator's actions -----------------------------------------------------------------------------------

    /** Stops releasing devices; those already released still report, or time out. */
    Map<String, Object> pause(String id) {
        return act(id, RolloutState.PAUSED, (c, from) -> move(c, id, from, RolloutState.PAUSED, "paused by the "
                + "operator"));
    }

    /** Releases devices again, at the plan's rate, from now. */
    Map<String, Object> resume(String id) {
        return act(id, RolloutState.IN_PROGRESS, (c, from) -> {
            move(c, id, from, RolloutState.IN_PROGRESS, null);
            update(c, "UPDATE deployments SET credit_at = ? WHERE id = ?", now(), id);
            step(c, id);
        });
    }

    /** Stops a rollout where it is: devices not yet released are skipped. */
    Map<String, Object> cancel(String id) {
        return act(id, RolloutState.CANCELLED, (c, from) -> {
            skipWaiting(c, id, now());
            move(c, id, from, RolloutState.CANCELLED, "cancelled by the operator");
        });
    }

    /** Puts every device the rollout reached back on the version it had before. */
    Map<String, Object> rollback(String id) {
        return act(id, RolloutState.ROLLED_BACK, (c, from) -> {
            Map<String, Object> d = lock(c, id).orElseThrow();
            for (Map<String, Object> r : rows(c, "SELECT device, previous FROM deployment_devices WHERE deployment = ? "
                    + "AND state IN " + in(DeviceRolloutState.from(ROLLED_BACK)), id)) {
                String device = (String) r.get("device");
                // The device's rollout row before its desired state, in the order a report takes them, so that a
                // report racing the rollback waits for it instead of deadlocking with it.
                update(c, "UPDATE deployment_devices SET state = ?, updated_at = ? WHERE deployment = ? AND device = ?",
                        ROLLED_BACK.wire(), now(), id, device);
                // A device the rollout brought the function to goes back to not having it.
                Integer previous = integerOrNull(r.get("previous"));
                desired.set(c, device, (String) d.get("function"), previous == null ? DesiredStates.REMOVED : previous,
                        null);
            }
            skipWaiting(c, id, now());
            move(c, id, from, RolloutState.ROLLED_BACK, "rolled back by the operator");
        });
    }

    private interface Action {
        void run(Connection c, RolloutState from) throws SQLException;
    }

    private Map<String, Object> act(String id, RolloutState to, Action action) {
        db.tx(c -> {
            RolloutState from = RolloutState.of((String) lock(c, id).orElseThrow(() -> ApiError.notFound(
                    "no deployment '" + id + "'")).get("state"));
            if (!from.canBecome(to)) {
                throw ApiError.conflict("deployment " + id + " is " + from.wire() + "; it cannot become " + to.wire()
                        + (from.next().isEmpty() ? " (" + from.wire() + " is final)"
                        : " (from " + from.wire() + " it may become " + from.next().stream().map(RolloutState::wire)
                        .toList() + ")"));
            }
            action.run(c, from);
            return null;
        });
        desired.changed();
        LOG.log(Level.INFO, "deployment.{0} id={1}", to.wire(), id);
        return deployment(id);
    }

    // --- the ticker -----------------------------------------------------------------------------------------------

    /** Steps every open rollout once; returns how many changed. */
    int tick() {
        List<String> open = db.read(c -> rows(c, "SELECT id FROM deployments WHERE state IN (?, ?)",
                RolloutState.IN_PROGRESS.wire(), RolloutState.PAUSED.wire())).stream()
                .map(r -> (String) r.get("id")).toList();
        dirty.removeAll(open);
        return stepEach(open);
    }

    /** Steps each rollout whose lock is free, once; a rollout being stepped elsewhere is skipped, not waited for. */
    private int stepEach(Collection<String> ids) {
        int changed = 0;
        for (String id : ids) {
            try {
                Boolean stepped = stepIfFree(id);
                if (stepped == null) {
                    // another transaction holds it and may have counted before a report committed: again soon
                    dirty.add(id);
                } else if (stepped) {
                    changed++;
                }
            } catch (RuntimeException e) {
                // one rollout that cannot be stepped does not hold up the others
                LOG.log(Level.WARNING, "deployment.step-failed id={0} error={1}", id, e.toString());
            }
        }
        if (changed > 0) {
            desired.changed();
        }
        return changed;
    }

    /**
     * One step of a rollout if no other transaction holds its lock: whether it changed anything, or null when
     * another holds the lock (and is stepping it). SQLite has one writer, so there it always steps.
     */
    private Boolean stepIfFree(String id) {
        return db.tx(c -> {
            Optional<Map<String, Object>> d = row(c, SELECT_LOCKED + (db.sqlite() ? "" : " FOR UPDATE SKIP LOCKED"), id);
            return d.isEmpty() ? null : step(c, d.get());
        });
    }

    private void tickLoop() {
        long next = System.nanoTime() + TICK.toNanos();
        while (!closed) {
            try {
                long left = next - System.nanoTime();
                if (left > 0 && nudge.tryAcquire(left, TimeUnit.NANOSECONDS)) {
                    // reports found a rollout's lock taken: let a few more arrive, then step it once for all
                    Thread.sleep(SOON);
                    nudge.drainPermits();
                    List<String> soon = List.copyOf(dirty);
                    dirty.removeAll(soon);
                    stepEach(soon);
                    continue;
                }
                next = System.nanoTime() + TICK.toNanos();
                tick();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // the database may be away for a moment; the next tick tries again
                LOG.log(Level.WARNING, "deployment.tick-failed error={0}", e.toString());
            }
        }
    }

    // --- views ----------------------------------------------------------------------------------------------------

    Map<String, Object> deployment(String id) {
        return deployment(id, true, -1);
    }

    /**
     * A rollout, with its device list or (for a fleet of thousands, followed each second) without, or with only
     * the devices changed at or after {@code changedSince} (ms; negative: all). The answer's {@code cursor} is the
     * latest change it holds: pass it back, and expect a device again when its change shares that millisecond.
     */
    Map<String, Object> deployment(String id, boolean withDevices, long changedSince) {
        return db.read(c -> {
            Map<String, Object> d = row(c, "SELECT id, function, version, target, canary, max_failures, state, plan, "
                    + "reason, created_at, updated_at FROM deployments WHERE id = ?", id)
                    .orElseThrow(() -> ApiError.notFound("no deployment '" + id + "'"));
            Map<String, Object> out = summary(d, counts(c, id));
            out.put("canary", number(d.get("canary")));
            long max = number(d.get("max_failures"));
            out.put("maxFailures", max < 0 ? null : max);
            out.put("plan", plan(d));
            if (!withDevices) {
                return out;
            }
            List<Map<String, Object>> devices = new ArrayList<>();
            long cursor = Math.max(0, changedSince);
            for (Map<String, Object> r : rows(c, "SELECT device, wave, state, previous, error_code, error, released_at, "
                    + "updated_at FROM deployment_devices WHERE deployment = ? AND updated_at >= ? ORDER BY wave, "
                    + "device", id, Math.max(0, changedSince))) {
                cursor = Math.max(cursor, number(r.get("updated_at")));
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("device", r.get("device"));
                m.put("wave", number(r.get("wave")));
                m.put("state", r.get("state"));
                m.put("previousVersion", integerOrNull(r.get("previous")));
                m.put("errorCode", r.get("error_code"));
                m.put("error", r.get("error"));
                m.put("releasedAt", instant(r.get("released_at")));
                devices.add(m);
            }
            out.put("devices", devices);
            out.put("cursor", cursor);
            return out;
        });
    }

    /** Every rollout, newest first, with its counts. */
    List<Map<String, Object>> deployments() {
        return db.read(c -> {
            Map<String, Map<DeviceRolloutState, Long>> counts = new LinkedHashMap<>();
            for (Map<String, Object> r : rows(c, "SELECT deployment, state, COUNT(*) AS n FROM deployment_devices "
                    + "GROUP BY deployment, state")) {
                counts.computeIfAbsent((String) r.get("deployment"), k -> new EnumMap<>(DeviceRolloutState.class))
                        .put(DeviceRolloutState.of((String) r.get("state")), number(r.get("n")));
            }
            List<Map<String, Object>> out = new ArrayList<>();
            for (Map<String, Object> d : rows(c, "SELECT id, function, version, target, state, reason, created_at, "
                    + "updated_at FROM deployments ORDER BY created_at DESC, id")) {
                out.add(summary(d, counts.getOrDefault((String) d.get("id"), Map.of())));
            }
            return out;
        });
    }

    private static Map<String, Object> summary(Map<String, Object> d, Map<DeviceRolloutState, Long> counts) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", d.get("id"));
        out.put("function", d.get("function"));
        out.put("version", number(d.get("version")));
        out.put("undeploy", number(d.get("version")) == DesiredStates.REMOVED);
        out.put("target", d.get("target"));
        out.put("state", d.get("state"));
        out.put("reason", d.get("reason"));
        Map<String, Long> wire = new LinkedHashMap<>();
        long total = 0;
        for (DeviceRolloutState s : DeviceRolloutState.values()) {
            long n = counts.getOrDefault(s, 0L);
            total += n;
            if (n > 0) {
                wire.put(s.wire(), n);
            }
        }
        out.put("devicesTotal", total);
        out.put("counts", wire);
        out.put("createdAt", instant(d.get("created_at")));
        out.put("updatedAt", instant(d.get("updated_at")));
        return out;
    }

    private static String instant(Object millis) {
        return millis == null ? null : Instant.ofEpochMilli(number(millis)).toString();
    }
}
