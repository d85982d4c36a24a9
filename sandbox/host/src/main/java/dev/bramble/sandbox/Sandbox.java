package dev.bramble.sandbox;

import java.io.IOException;
import java.util.List;

/** Launches contained child processes. */
public interface Sandbox {

    /**
     * A sandbox that applies no containment: the process runs as the daemon's user, with no cgroup and the
     * host's /tmp. {@link #isolation()} says so.
     */
    static Sandbox unconfined() {
        return new UnconfinedSandbox();
    }

    /**
     * Starts a process.
     *
     * @throws IOException when it cannot be started; nothing is left behind
     */
    ContainedProcess launch(LaunchSpec spec) throws IOException;

    /** What containment is in force for the processes this sandbox starts. */
    Isolation isolation();

    /**
     * The containment in force.
     *
     * @param mode    {@code full} or {@code degraded}
     * @param missing what is not enforced, by name ({@code cgroups}, {@code tmpfs}, {@code identity})
     */
    record Isolation(String mode, List<String> missing) {
        public Isolation {
            missing = List.copyOf(missing);
        }
    }
}
