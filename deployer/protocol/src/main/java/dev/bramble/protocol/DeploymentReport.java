package dev.bramble.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A device's word on a rollout, {@code POST /v1/devices/{id}/reports}: it brought the version live, or it did not
 * and kept (or restored) what it had.
 *
 * @param deployment the rollout, as the desired state named it
 * @param state      {@link DeviceRolloutState#SUCCEEDED} or {@link DeviceRolloutState#FAILED}
 * @param errorCode  for a failure, why; a name of a {@link DeploymentErrorCode} a device may report
 * @param error      for a failure, the message (at most 2000 characters are kept)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record DeploymentReport(String deployment, DeviceRolloutState state, String errorCode, String error) {
    /** The longest message kept. */
    public static final int MAX_ERROR = 2_000;

    public static DeploymentReport succeeded(String deployment) {
        return new DeploymentReport(deployment, DeviceRolloutState.SUCCEEDED, null, null);
    }

    public static DeploymentReport failed(String deployment, DeploymentErrorCode code, String error) {
        String e = error == null ? "" : error;
        return new DeploymentReport(deployment, DeviceRolloutState.FAILED, code.name(),
                e.length() > MAX_ERROR ? e.substring(0, MAX_ERROR) : e);
    }
}
