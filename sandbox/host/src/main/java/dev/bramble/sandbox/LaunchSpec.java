package dev.bramble.sandbox;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What to start, and how to contain it.
 *
 * @param name        a label, unique among running processes; names the cgroup
 * @param command     the program and its arguments
 * @param environment the complete environment; nothing of the daemon's own is inherited
 * @param workDir     the working directory
 * @param limits      memory, CPU, pids and /tmp
 * @param identity    the unprivileged user to run as, when identity isolation is on
 * @param readOnly    paths the process sees read-only (its code), even inside a hidden path
 * @param writable    files or directories the process may write, even inside a hidden path (its class-data archive)
 * @param hidden      paths the process must not see at all (the daemon's state)
 * @param hostTmp     the directory used as /tmp when no private tmpfs is available
 * @param network     whether the process shares the host's network (never the host's own listeners, see
 *                    {@link Sandbox#shutOut}); false: a network namespace of its own with only loopback
 */
public record LaunchSpec(String name, List<String> command, Map<String, String> environment, Path workDir,
                         Limits limits, Optional<Identity> identity, List<Path> readOnly, List<Path> writable,
                         List<Path> hidden, Path hostTmp, boolean network) {
    public LaunchSpec {
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
        readOnly = List.copyOf(readOnly);
        writable = List.copyOf(writable);
        hidden = List.copyOf(hidden);
    }
}
