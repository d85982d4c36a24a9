package dev.bramble.sandbox;

/**
 * How a process ended.
 *
 * @param status the wait status as the JDK reports it: the exit code, or 128 + the signal number
 */
public record Exit(int status) {

    /** The signal that ended the process, or 0 when it exited. */
    public int signal() {
        return status > 128 && status < 128 + 65 ? status - 128 : 0;
    }

    /** Go's wording, which Lambda uses: {@code exit status 3}, {@code signal: killed}. */
    public String describe() {
        return switch (signal()) {
            case 0 -> "exit status " + status;
            case 9 -> "signal: killed";
            case 15 -> "signal: terminated";
            case 6 -> "signal: aborted";
            case 11 -> "signal: segmentation fault";
            default -> "signal: " + signal();
        };
    }
}
