package dev.bramble.deployer;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.bramble.protocol.DeviceRolloutState;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a rollout releases devices and when it stops, in the spirit of AWS IoT Jobs: a canary wave first (the rest
 * wait until every canary succeeded), a release rate (constant, or an exponential ramp that grows as devices
 * succeed), failure thresholds that halt it, and a deadline per device after which a silent device counts as
 * timed out. Plain values and pure decisions, so each is tested without a database.
 *
 * @param canary               devices in the first wave (0: no canary wave)
 * @param canaryPercent        or that share of the target, at least one device
 * @param maxFailures          halt once more devices than this failed or timed out; null: no count limit
 * @param rate                 how fast devices are released; null: all eligible devices at once
 * @param abort                halt once the failure share passes a percentage; null: no such threshold
 * @param deviceTimeoutSeconds how long a released device has to report
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record RolloutPlan(int canary, int canaryPercent, Integer maxFailures, Rate rate, Abort abort,
                   long deviceTimeoutSeconds) {

    static final long DEFAULT_DEVICE_TIMEOUT_SECONDS = 30 * 60;
    static final long MIN_DEVICE_TIMEOUT_SECONDS = 5;
    static final long MAX_DEVICE_TIMEOUT_SECONDS = 7 * 24 * 3600;

    /**
     * Devices per minute: {@code perMinute} at first, times {@code factor} for every {@code every} devices that
     * succeeded, at most {@code maxPerMinute}. A factor of 1 is a constant rate.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Rate(int perMinute, double factor, int every, int maxPerMinute) {
        double at(long succeeded) {
            if (factor <= 1 || every <= 0) {
                return perMinute;
            }
            double steps = Math.floor((double) succeeded / every);
            return Math.min(maxPerMinute, perMinute * Math.pow(factor, Math.min(steps, 64)));
        }
    }

    /** Halt once at least {@code minDevices} settled and more than {@code failurePercent} % of them failed. */
    record Abort(int failurePercent, int minDevices) {
    }

    /** What one step releases, and the credit the rate leaves for the next step. */
    record Release(int devices, double credit) {
    }

    /** The plan a {@code POST /v1/deployments} body asks for, with every problem named at once. */
    static RolloutPlan parse(JsonNode b) {
        List<String> problems = new ArrayList<>();
        int canary = integer(b, "canary", 0, 0, 1_000_000, problems);
        int canaryPercent = integer(b, "canaryPercent", 0, 0, 100, problems);
        Integer maxFailures = b.hasNonNull("maxFailures")
                ? integer(b, "maxFailures", 0, 0, 1_000_000, problems) : null;
        Rate rate = null;
        if (b.hasNonNull("rate")) {
            JsonNode r = b.path("rate");
            if (!r.isObject()) {
                problems.add("rate must be an object: {\"perMinute\": N} or {\"perMinute\": N, \"factor\": F, "
                        + "\"every\": K, \"maxPerMinute\": M}");
            } else {
                int perMinute = integer(r, "rate.perMinute", "perMinute", REQUIRED, 1, 100_000, problems);
                double factor = r.path("factor").isMissingNode() ? 1 : r.path("factor").asDouble(-1);
                if (!r.path("factor").isMissingNode() && (!r.path("factor").isNumber() || factor < 1 || factor > 10)) {
                    problems.add("rate.factor " + r.path("factor") + " is not allowed; use a number from 1 to 10");
                }
                int every = integer(r, "rate.every", "every", factor > 1 ? REQUIRED : 0, 1, 1_000_000, problems);
                int max = integer(r, "rate.maxPerMinute", "maxPerMinute", Math.max(perMinute, 1), Math.max(1,
                        perMinute), 100_000, problems);
                rate = new Rate(perMinute, factor, every, max);
            }
        }
        Abort abort = null;
        if (b.hasNonNull("abort")) {
            JsonNode a = b.path("abort");
            if (!a.isObject()) {
                problems.add("abort must be an object: {\"failurePercent\": P, \"minDevices\": N}");
            } else {
                abort = new Abort(integer(a, "abort.failurePercent", "failurePercent", REQUIRED, 0, 100, problems),
                        integer(a, "abort.minDevices", "minDevices", 1, 1, 1_000_000, problems));
            }
        }
        long timeout = integer(b, "deviceTimeoutSeconds", (int) DEFAULT_DEVICE_TIMEOUT_SECONDS,
                (int) MIN_DEVICE_TIMEOUT_SECONDS, (int) MAX_DEVICE_TIMEOUT_SECONDS, problems);
        if (!problems.isEmpty()) {
            throw new ApiError(400, "InvalidRequest", "the rollout plan is not allowed: " + String.join("; ",
                    problems), problems);
        }
        // Without any threshold, the first failure halts: the safe default. A percentage alone sets no count limit.
        return new RolloutPlan(canary, canaryPercent, maxFailures == null && abort == null ? Integer.valueOf(0)
                : maxFailures, rate, abort, timeout);
    }

    private static int integer(JsonNode b, String field, int dflt, int min, int max, List<String> problems) {
        return integer(b, field, field, dflt, min, max, problems);
    }

    private static final int REQUIRED = Integer.MIN_VALUE;

    /** A whole number in [min, max], or the default when the field is absent (unless it is {@link #REQUIRED}). */
    private static int integer(JsonNode b, String label, String field, int dflt, int min, int max,
                               List<String> problems) {
        JsonNode v = b.path(field);
        if (v.isMissingNode() || v.isNull()) {
            if (dflt == REQUIRED) {
                problems.add(label + " is required (" + min + " to " + max + ")");
                return min;
            }
            return dflt;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < min || v.asInt() > max) {
            problems.add(label + " " + v + " is not allowed; use a whole number from " + min + " to " + max);
            return dflt == REQUIRED ? min : dflt;
        }
        return v.asInt();
    }

    /** How many of {@code devices} form the canary wave; all of them when there is none. */
    int firstWave(int devices) {
        int first = canary > 0 ? canary : canaryPercent > 0
                ? (int) Math.max(1, Math.ceil(devices * canaryPercent / 100.0)) : devices;
        return Math.min(first, devices);
    }

    /**
     * How many of {@code eligible} devices to release now. Without a rate, all. With one, the rate accrues credit
     * over the time since the last step, at most two seconds' worth (or one device) so that a wait, a pause or a
     * canary wave never turns into a burst; a fresh rollout starts with one device's credit.
     */
    Release release(double credit, long elapsedMillis, long succeeded, int eligible) {
        if (rate == null) {
            return new Release(eligible, 0);
        }
        double perMinute = rate.at(succeeded);
        double cap = Math.max(1, perMinute / 30);
        double c = Math.min(cap, credit + perMinute * Math.max(0, elapsedMillis) / 60_000.0);
        int n = (int) Math.min(eligible, Math.floor(c));
        return new Release(n, c - n);
    }

    /** Why the rollout must halt with these counts, if it must. */
    Optional<String> haltReason(Map<DeviceRolloutState, Long> counts) {
        long failures = counts.getOrDefault(DeviceRolloutState.FAILED, 0L)
                + counts.getOrDefault(DeviceRolloutState.TIMED_OUT, 0L);
        long settled = failures + counts.getOrDefault(DeviceRolloutState.SUCCEEDED, 0L);
        if (maxFailures != null && failures > maxFailures) {
            return Optional.of(failures + " device(s) failed or timed out, more than maxFailures " + maxFailures);
        }
        if (abort != null && settled >= abort.minDevices() && failures * 100 > (long) abort.failurePercent() * settled) {
            return Optional.of(failures + " of " + settled + " settled device(s) failed or timed out ("
                    + (failures * 100 / settled) + " %), more than abort.failurePercent " + abort.failurePercent()
                    + " % after abort.minDevices " + abort.minDevices());
        }
        return Optional.empty();
    }
}
