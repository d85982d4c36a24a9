package dev.bramble.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Where one device is in one rollout. Only the transitions in {@link #next()} happen: the deployer's updates name
 * {@link #from(DeviceRolloutState)} as the states they may change, so a late or repeated event finds nothing to
 * change.
 */
public enum DeviceRolloutState {
    /** Not released yet: its desired state still names what it had. */
    WAITING,
    /** Released: its desired state names the new version, and the rollout waits for its report until its deadline. */
    PENDING,
    SUCCEEDED,
    /** The device could not bring the version live and kept (or restored) what it had; see the error code. */
    FAILED,
    /** No report before the rollout's device deadline; its desired state went back to what it had. */
    TIMED_OUT,
    /** Never released: the rollout halted or was cancelled, or the device was revoked. */
    SKIPPED,
    /** A newer rollout of the same function took the device over. */
    SUPERSEDED,
    /** The rollout was rolled back: the device was put back on what it had. */
    ROLLED_BACK;

    /** The states this one may become. */
    public Set<DeviceRolloutState> next() {
        return switch (this) {
            case WAITING -> EnumSet.of(PENDING, SKIPPED, SUPERSEDED);
            case PENDING -> EnumSet.of(SUCCEEDED, FAILED, TIMED_OUT, SKIPPED, SUPERSEDED, ROLLED_BACK);
            case SUCCEEDED -> EnumSet.of(ROLLED_BACK);
            case FAILED, TIMED_OUT, SKIPPED, SUPERSEDED, ROLLED_BACK -> EnumSet.noneOf(DeviceRolloutState.class);
        };
    }

    /** The states that may become {@code target}. */
    public static List<DeviceRolloutState> from(DeviceRolloutState target) {
        return Arrays.stream(values()).filter(s -> s.next().contains(target)).toList();
    }

    /** Whether the device's outcome counts against a rollout's failure thresholds. */
    public boolean failure() {
        return this == FAILED || this == TIMED_OUT;
    }

    /** Whether the device has an outcome: it reported, or its deadline passed. */
    public boolean settled() {
        return this == SUCCEEDED || failure();
    }

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static DeviceRolloutState of(String wire) {
        for (DeviceRolloutState s : values()) {
            if (s.wire().equals(wire)) {
                return s;
            }
        }
        throw new IllegalArgumentException("device rollout state '" + wire + "' is not one of "
                + Arrays.stream(values()).map(DeviceRolloutState::wire).toList());
    }
}
