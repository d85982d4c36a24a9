package dev.bramble.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Where a rollout is. Only the transitions in {@link #next()} happen; the deployer refuses an operator's request
 * for any other with 409, naming the state and what is allowed from it.
 */
public enum RolloutState {
    /** Devices are being released and are reporting. */
    IN_PROGRESS,
    /** The operator paused it: nothing new is released; devices already released still report or time out. */
    PAUSED,
    /** Every device was released and reported, with failures within the thresholds. */
    SUCCEEDED,
    /** Failures passed a threshold: devices not yet released were skipped. */
    HALTED,
    /** The operator stopped it: devices not yet released were skipped. */
    CANCELLED,
    /** Every device it reached was put back on the version it had before. Final. */
    ROLLED_BACK;

    /** The states this one may become. */
    public Set<RolloutState> next() {
        return switch (this) {
            case IN_PROGRESS -> EnumSet.of(PAUSED, SUCCEEDED, HALTED, CANCELLED, ROLLED_BACK);
            case PAUSED -> EnumSet.of(IN_PROGRESS, HALTED, CANCELLED, ROLLED_BACK);
            case SUCCEEDED, HALTED, CANCELLED -> EnumSet.of(ROLLED_BACK);
            case ROLLED_BACK -> EnumSet.noneOf(RolloutState.class);
        };
    }

    public boolean canBecome(RolloutState other) {
        return next().contains(other);
    }

    /** Whether devices may still be released (in progress or paused). */
    public boolean open() {
        return this == IN_PROGRESS || this == PAUSED;
    }

    /** The name on the wire and in the database: {@code in_progress}, {@code rolled_back}. */
    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The state a wire name stands for. */
    @JsonCreator
    public static RolloutState of(String wire) {
        for (RolloutState s : values()) {
            if (s.wire().equals(wire)) {
                return s;
            }
        }
        throw new IllegalArgumentException("rollout state '" + wire + "' is not one of "
                + Arrays.stream(values()).map(RolloutState::wire).toList());
    }
}
