package dev.bramble.daemon.agent;

/** Why the agent could not bring a version live; the code goes to the deployer with the message. */
final class AgentException extends Exception {
    /** The error codes a device reports. */
    enum Code {
        DOWNLOAD_FAILED, DISK_FULL, DIGEST_MISMATCH, SIGNATURE_INVALID, UNTRUSTED_KEY, INVALID_BUNDLE, INIT_FAILED,
        SMOKE_TEST_FAILED, INTERNAL
    }

    private final Code code;

    AgentException(Code code, String message) {
        super(message);
        this.code = code;
    }

    Code code() {
        return code;
    }
}
