package dev.bramble.daemon.async;

import dev.bramble.protocol.AsyncPolicy;

import java.time.Duration;
import java.time.Instant;
import java.util.function.DoubleSupplier;

/**
 * What the queue does with an invocation, decided from plain values: the stored job, its function's
 * {@link AsyncPolicy}, what the attempt did and the time. It touches no store and runs nothing, so every rule is
 * tested without SQLite or a function.
 *
 * <p>A failed attempt is retried after an exponential backoff with jitter (base, twice the base, …, each ±20 %), as
 * often as the policy allows and while the event is younger than its maximum age; then it is a dead letter. A
 * throttled attempt is not a failure: it is tried again {@link #THROTTLED_DELAY} later, its attempts unchanged.
 */
public final class Retries {
    /** How long a throttled attempt waits before it is tried again. */
    static final Duration THROTTLED_DELAY = Duration.ofSeconds(1);
    /** Doublings of the base at most, so that a large retry number cannot overflow. */
    private static final int MAX_DOUBLINGS = 16;

    private final Duration base;
    private final DoubleSupplier jitter;

    /**
     * @param base   the wait before the first retry
     * @param jitter a uniform draw from [0, 1) per retry
     */
    public Retries(Duration base, DoubleSupplier jitter) {
        this.base = base;
        this.jitter = jitter;
    }

    /** What one attempt did. */
    public sealed interface Attempt {
        /** The function returned a result. */
        record Succeeded() implements Attempt {
        }

        /** The function, or running it, failed; {@code error} is the Lambda error object. */
        record Failed(String error) implements Attempt {
        }

        /** No environment could take it now. */
        record Throttled() implements Attempt {
        }

        /** The function or its qualifier is gone. */
        record NotFound(String message) implements Attempt {
        }
    }

    /** What to do with the job. */
    public sealed interface Decision {
        /** Run it now. */
        record Run() implements Decision {
        }

        /** It is done: remove it. */
        record Remove() implements Decision {
        }

        /** It failed: keep it and try again at {@code at}, with {@code attempts} failed so far and its {@code error}. */
        record RetryAt(Instant at, int attempts, String error) implements Decision {
        }

        /** It could not run now: keep it as it was and try again at {@code at}; not a failed attempt. */
        record WaitUntil(Instant at) implements Decision {
        }

        /** Give it up to the dead letters. */
        record GiveUp(DeadLetter.Reason reason, String error, int attempts) implements Decision {
        }
    }

    /** Before an attempt: run it, unless it is already past its maximum age. */
    public Decision before(Job job, AsyncPolicy policy, Instant now) {
        return now.isBefore(expiry(job, policy))
                ? new Decision.Run()
                : new Decision.GiveUp(DeadLetter.Reason.EVENT_AGE_EXCEEDED, job.lastError(), job.attempts());
    }

    /** After an attempt. */
    public Decision after(Job job, AsyncPolicy policy, Attempt attempt, Instant now) {
        return switch (attempt) {
            case Attempt.Succeeded s -> new Decision.Remove();
            case Attempt.Throttled t -> new Decision.WaitUntil(now.plus(THROTTLED_DELAY));
            case Attempt.NotFound n -> new Decision.GiveUp(DeadLetter.Reason.FUNCTION_NOT_FOUND, n.message(),
                    job.attempts());
            case Attempt.Failed f -> failed(job, policy, f.error(), now);
        };
    }

    private Decision failed(Job job, AsyncPolicy policy, String error, Instant now) {
        int attempts = job.attempts() + 1;
        if (attempts > policy.maxRetries()) {
            return new Decision.GiveUp(DeadLetter.Reason.RETRIES_EXHAUSTED, error, attempts);
        }
        Instant next = now.plus(backoff(attempts));
        if (!next.isBefore(expiry(job, policy))) {
            return new Decision.GiveUp(DeadLetter.Reason.EVENT_AGE_EXCEEDED, error, attempts);
        }
        return new Decision.RetryAt(next, attempts, error);
    }

    /** The wait before retry number {@code retry} (from 1): base × 2^(retry−1), ±20 %. */
    public Duration backoff(int retry) {
        long millis = base.toMillis() << Math.min(Math.max(retry, 1) - 1, MAX_DOUBLINGS);
        return Duration.ofMillis((long) (millis * (0.8 + 0.4 * jitter.getAsDouble())));
    }

    private static Instant expiry(Job job, AsyncPolicy policy) {
        return job.enqueuedAt().plus(policy.maxEventAge());
    }
}
