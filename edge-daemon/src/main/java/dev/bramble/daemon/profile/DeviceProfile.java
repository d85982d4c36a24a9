package dev.bramble.daemon.profile;

import java.util.List;

/**
 * How brambled fits a board: what one {@code device-profiles/*.yaml} gives, after scaling for generic ones.
 *
 * @param id               the file's name without {@code .yaml}
 * @param name             a readable name
 * @param daemonHeapMb     the daemon's own maximum heap
 * @param daemonJvmOptions the daemon's JVM flags besides the heap (empty: the launcher's)
 * @param memoryBudgetMb   memory for all function environments together; 0 means 60 % of the device's
 * @param defaultMemoryMb  a function's memory when its manifest sets none
 * @param defaultTmpMb     a function's /tmp when its manifest sets none
 * @param maxEnvironments  environments running at once, all functions together
 * @param idleTtlSeconds   an environment idle this long is stopped
 * @param childJvmOptions  flags of every function JVM (empty: the daemon's defaults)
 * @param logsMb           disk for function logs
 * @param outboxMb         disk for the telemetry outbox
 */
public record DeviceProfile(String id, String name, int daemonHeapMb, List<String> daemonJvmOptions,
                            long memoryBudgetMb, int defaultMemoryMb, int defaultTmpMb, int maxEnvironments,
                            int idleTtlSeconds, List<String> childJvmOptions, int logsMb, int outboxMb) {
    public DeviceProfile {
        daemonJvmOptions = List.copyOf(daemonJvmOptions);
        childJvmOptions = List.copyOf(childJvmOptions);
    }
}
