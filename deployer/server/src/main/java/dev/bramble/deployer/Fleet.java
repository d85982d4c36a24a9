package dev.bramble.deployer;

import dev.bramble.protocol.Bundle;

import java.time.Clock;

/**
 * The fleet's parts over one database: the catalog (signers, versions, aliases), the devices (enrolment, tokens),
 * their desired states, and the rollouts that change them. Every change is one transaction.
 */
record Fleet(Catalog catalog, DesiredStates desired, Devices devices, Rollouts rollouts, LastSeen seen)
        implements AutoCloseable {

    static Fleet open(Database db, Clock clock, Bundle.Limits limits) {
        return open(db, clock, limits, java.time.Duration.ofDays(DeployerConfig.DEFAULT_ROTATE_AFTER_DAYS));
    }

    /** With device tokens rotated once older than {@code rotateAfter} (zero: only when the operator asks). */
    static Fleet open(Database db, Clock clock, Bundle.Limits limits, java.time.Duration rotateAfter) {
        DesiredStates desired = new DesiredStates(db, clock, rotateAfter);
        Rollouts rollouts = new Rollouts(db, clock, desired);
        return new Fleet(new Catalog(db, clock, limits), desired, new Devices(db, clock, desired, rollouts), rollouts,
                new LastSeen(db, clock));
    }

    /**
     * Starts what runs between requests: the rollouts' ticker, the listener for other replicas' changes, and the
     * writer of when devices were last seen.
     */
    Fleet start() {
        desired.start();
        rollouts.start();
        seen.start();
        return this;
    }

    @Override
    public void close() {
        rollouts.close();
        desired.close();
        seen.close();
    }
}
