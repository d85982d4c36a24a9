package dev.bramble.sandbox;

/**
 * What one contained process may use.
 *
 * @param memoryMb   memory, MB; no swap on top
 * @param cpuMillis  CPU time per second of wall time, in thousandths of a core (500 = half a core)
 * @param pidsMax    processes and threads, together
 * @param tmpMb      size of the private /tmp, MB
 */
public record Limits(int memoryMb, int cpuMillis, int pidsMax, int tmpMb) {
    public Limits {
        if (memoryMb < 1 || cpuMillis < 1 || pidsMax < 1 || tmpMb < 1) {
            throw new IllegalArgumentException("every limit must be positive: " + memoryMb + " MB, " + cpuMillis
                    + " m CPU, " + pidsMax + " pids, " + tmpMb + " MB /tmp");
        }
    }

    long memoryBytes() {
        return (long) memoryMb << 20;
    }
}
