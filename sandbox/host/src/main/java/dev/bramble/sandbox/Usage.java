package dev.bramble.sandbox;

/**
 * What a contained process uses, from its cgroup when it has one, else from /proc.
 *
 * @param memoryBytes        in use now
 * @param memoryPeakBytes    the most ever in use
 * @param cpuThrottledNanos  time the process was held back by its CPU quota
 * @param cpuThrottledPeriods scheduler periods in which it was held back
 * @param pids               processes and threads now
 */
public record Usage(long memoryBytes, long memoryPeakBytes, long cpuThrottledNanos, long cpuThrottledPeriods,
                    long pids) {
}
