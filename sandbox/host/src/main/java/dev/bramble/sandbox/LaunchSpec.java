package dev.bramble.sandbox;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What to start.
 *
 * @param name        a label for logs and for the process's containment (a cgroup name, later)
 * @param command     the program and its arguments
 * @param environment the complete environment; nothing of the daemon's own is inherited
 * @param workDir     the working directory
 * @param memoryMb    the memory limit, MB
 */
public record LaunchSpec(String name, List<String> command, Map<String, String> environment, Path workDir,
                         int memoryMb) {
    public LaunchSpec {
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
    }
}
