package dev.bramble.daemon.async;

import java.time.Instant;

/**
 * One queued asynchronous invocation, as stored.
 *
 * @param id         the row id, the queue's order
 * @param requestId  the invocation's request id, the same on every attempt
 * @param function   the function's name
 * @param qualifier  version or alias, or null for {@code live}
 * @param source     what queued it: {@code invoke}, or {@code <type>:<function>/<trigger>} for a trigger
 * @param payload    the event
 * @param reply      where a trigger wants the result (a JSON object of the trigger's own), or null
 * @param enqueuedAt when it was stored, the start of its event age
 * @param attempts   attempts that failed so far
 * @param lastError  the last attempt's error, or null
 */
public record Job(long id, String requestId, String function, String qualifier, String source, byte[] payload,
                  String reply, Instant enqueuedAt, int attempts, String lastError) {
}
