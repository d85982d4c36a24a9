package dev.bramble.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

import java.util.List;

/**
 * What a device should run, as the deployer answers {@code GET /v1/devices/{id}/desired}. The revision grows with
 * every change; a long-poll returns once it passes the one the device has.
 *
 * @param deviceId  the device
 * @param revision  the desired state's revision
 * @param functions   one entry per function, in name order
 * @param rotateToken the device should get a new token ({@code POST /v1/devices/{id}/token}): the operator asked,
 *                    or its token is older than the deployer's {@code tokens.rotate-after-days}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record DesiredState(String deviceId, long revision, List<Function> functions, boolean rotateToken) {

    public DesiredState {
        functions = functions == null ? List.of() : List.copyOf(functions);
    }

    public DesiredState(String deviceId, long revision, List<Function> functions) {
        this(deviceId, revision, functions, false);
    }

    /**
     * One function's desired version.
     *
     * @param function   its name
     * @param version    the deployer's version number
     * @param sha256     the bundle's digest, which the device checks
     * @param size       the bundle's size in bytes
     * @param signature  the bundle's signature (JSON, as {@link Signing.BundleSignature#toJson()} writes it)
     * @param url        where to fetch it: a path on the deployer, or any http(s) URL
     * @param deployment the rollout that set it, which the device reports to; null when none did (a rollback)
     *
     * <p>An undeploy is version 0 with no digest, size, signature or URL: the function must not be on the device.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Function(String function, int version, String sha256, long size, String signature, String url,
                           String deployment) {

        /** The entry of an undeploy: the device deletes the function, if it has it, and reports success. */
        public static Function removal(String function, String deployment) {
            return new Function(function, 0, null, 0, null, null, deployment);
        }

        /** Whether this entry is an undeploy. */
        public boolean removed() {
            return sha256 == null;
        }
    }
}
