package dev.bramble.sandbox;

/**
 * What one contained process may use.
 *
 * @param memoryMb   memory, MB; no swap on top
 * @param cpuMillis  CPU time per second of wall time, in thousandths of a core (500 = half a core)
 * @param pidsMax    processes and threads, together
 * @param tmpMb      size of the private /tmp (and of the private /dev/shm), MB
 * @param fileMb     the largest file it may write anywhere, MB (RLIMIT_FSIZE), or 0 for no such limit: bounds
 *                   what it writes through a writable path outside its tmpfs, such as a class-data archive
 */
public record Limits(int memoryMb, int cpuMillis, int pidsMax, int tmpMb, int fileMb) {
    public Limits {
        if (memoryMb < 1 || cpuMillis < 1 || pidsMax < 1 || tmpMb < 1 || fileMb < 0) {
            throw new IllegalArgumentException("every limit must be positive: " + memoryMb + " MB, " + cpuMillis
                    + " m CPU, " + pidsMax + " pids, " + tmpMb + " MB /tmp, " + fileMb + " MB per file");
        }
    }

    /** Limits without a file size limit: everything writable is a tmpfs of the quota. */
    public Limits(int memoryMb, int cpuMillis, int pidsMax, int tmpMb) {
        this(memoryMb, cpuMillis, pidsMax, tmpMb, 0);
    }

    long memoryBytes() {
        return (long) memoryMb << 20;
    }
}
