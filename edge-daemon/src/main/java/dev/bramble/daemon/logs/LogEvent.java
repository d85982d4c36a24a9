package dev.bramble.daemon.logs;

/**
 * One line of a function's log.
 *
 * @param id        position in the store, increasing; 0 before it is stored
 * @param function  the function's name
 * @param stream    the environment's log stream name
 * @param requestId the invocation it belongs to, or null for output outside any invocation
 * @param epochMs   when it was written
 * @param message   the line, without its newline
 */
public record LogEvent(long id, String function, String stream, String requestId, long epochMs, String message) {
}
