package dev.bramble.protocol;

import java.util.Arrays;
import java.util.Optional;

/**
 * Why a device did not reach a rollout's version: the codes a device reports, and two the deployer sets itself.
 * Public and stable: operators' scripts and dashboards match on them.
 */
public enum DeploymentErrorCode {
    /** The bundle could not be fetched (network, HTTP status, the origin). */
    DOWNLOAD_FAILED(true),
    /** Not enough free disk to keep, unpack and stage the bundle. */
    DISK_FULL(true),
    /** The downloaded bytes do not have the SHA-256 the desired state names. */
    DIGEST_MISMATCH(true),
    /** The signature does not verify. */
    SIGNATURE_INVALID(true),
    /** The signature is by a key the device does not trust. */
    UNTRUSTED_KEY(true),
    /** The bundle is not one the device accepts (its manifest, its limits). */
    INVALID_BUNDLE(true),
    /** The new version did not start: its init failed or its process exited. */
    INIT_FAILED(true),
    /** One of the manifest's test events failed against the new version. */
    SMOKE_TEST_FAILED(true),
    /** Something on the device went wrong that is none of the above; the message says what. */
    INTERNAL(true),
    /** The device did not report before the rollout's device deadline. Set by the deployer. */
    TIMED_OUT(false),
    /** The device's token was revoked while the rollout waited on it. Set by the deployer. */
    REVOKED(false);

    private final boolean reportable;

    DeploymentErrorCode(boolean reportable) {
        this.reportable = reportable;
    }

    /** Whether a device may report this code (the others are the deployer's own). */
    public boolean reportable() {
        return reportable;
    }

    /** The code a device reported, if it is one a device may report. */
    public static Optional<DeploymentErrorCode> reported(String name) {
        return Arrays.stream(values()).filter(c -> c.reportable && c.name().equals(name)).findFirst();
    }

    /** The codes a device may report, for error messages. */
    public static String reportableNames() {
        return Arrays.stream(values()).filter(c -> c.reportable).map(Enum::name).toList().toString();
    }
}
