package dev.bramble.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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

    /**
     * Any process's usage from {@code /proc/PID/status} (resident memory, its high-water mark, threads); all zero
     * when the process is gone. For processes without a cgroup, and the daemon itself.
     */
    public static Usage ofProcess(long pid) {
        long rss = 0;
        long hwm = 0;
        long threads = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    rss = kb(line);
                } else if (line.startsWith("VmHWM:")) {
                    hwm = kb(line);
                } else if (line.startsWith("Threads:")) {
                    threads = Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // The process is gone: nothing in use.
        }
        return new Usage(rss, Math.max(rss, hwm), 0, 0, threads);
    }

    private static long kb(String line) {
        String digits = line.replaceAll("[^0-9]", "");
        return digits.isEmpty() ? 0 : Long.parseLong(digits) * 1024;
    }
}
