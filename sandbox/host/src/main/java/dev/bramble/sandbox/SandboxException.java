package dev.bramble.sandbox;

/** Containment could not be set up; {@link #code()} says which part failed. */
public final class SandboxException extends RuntimeException {

    /** Machine-readable causes. */
    public enum Code {
        /** Isolation is required but a piece of it is unavailable. */
        ISOLATION_UNAVAILABLE,
        /** A cgroup could not be created or a limit could not be written. */
        CGROUP_SETUP_FAILED,
        /** The process could not be started. */
        LAUNCH_FAILED,
        /** Another daemon on this host runs its environments in the same cgroups. */
        CGROUP_IN_USE,
        /** The rules keeping contained processes off the host's listeners could not be installed. */
        FIREWALL_FAILED
    }

    private final Code code;

    public SandboxException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }
}
