package dev.bramble.daemon.async;

import java.time.Instant;

/**
 * An asynchronous invocation that ended without success: the event, the last error and how many attempts it had.
 *
 * @param id         the dead letter's id
 * @param requestId  the invocation's request id
 * @param function   the function
 * @param qualifier  the qualifier it was queued with, or null
 * @param source     what queued it
 * @param payload    the event
 * @param reason     why it stopped
 * @param error      the last attempt's error object, or null when it never ran
 * @param attempts   attempts made
 * @param enqueuedAt when it was queued
 * @param failedAt   when it was given up
 */
public record DeadLetter(long id, String requestId, String function, String qualifier, String source, byte[] payload,
                         Reason reason, String error, int attempts, Instant enqueuedAt, Instant failedAt) {

    /** Why an invocation was given up. */
    public enum Reason {
        RETRIES_EXHAUSTED("RetriesExhausted"),
        EVENT_AGE_EXCEEDED("EventAgeExceeded"),
        FUNCTION_NOT_FOUND("FunctionNotFound");

        private final String json;

        Reason(String json) {
            this.json = json;
        }

        public String json() {
            return json;
        }

        static Reason of(String json) {
            for (Reason r : values()) {
                if (r.json.equals(json)) {
                    return r;
                }
            }
            throw new IllegalArgumentException("unknown dead-letter reason " + json);
        }
    }
}
