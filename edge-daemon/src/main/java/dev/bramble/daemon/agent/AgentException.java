package dev.bramble.daemon.agent;

import dev.bramble.protocol.DeploymentErrorCode;

/** Why the agent could not bring a version live; the code goes to the deployer with the message. */
final class AgentException extends Exception {
    private final DeploymentErrorCode code;

    AgentException(DeploymentErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    DeploymentErrorCode code() {
        return code;
    }
}
