package dev.bramble.daemon.async;

import dev.bramble.protocol.AsyncPolicy;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The queue's retry rules, from plain values: no store, no function. */
class RetriesTest {
    static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");
    static final AsyncPolicy TWO_RETRIES_ONE_HOUR = new AsyncPolicy(2, Duration.ofHours(1), Optional.empty(),
            Optional.empty());

    static Job job(int attempts, String lastError) {
        return new Job(7, "req", "f", null, "invoke", new byte[0], null, T0, attempts, lastError);
    }

    static Retries retries(double jitter) {
        return new Retries(Duration.ofMinutes(1), () -> jitter);
    }

    @Test
    void theBackoffDoublesFromItsBaseWithinTwentyPercentEitherWay() {
        assertThat(retries(0.5).backoff(1)).isEqualTo(Duration.ofMinutes(1));
        assertThat(retries(0.5).backoff(2)).isEqualTo(Duration.ofMinutes(2));
        assertThat(retries(0.5).backoff(3)).isEqualTo(Duration.ofMinutes(4));
        assertThat(retries(0.0).backoff(1)).isEqualTo(Duration.ofSeconds(48));
        assertThat(retries(0.999_999).backoff(1)).isBetween(Duration.ofSeconds(71), Duration.ofSeconds(72));
        assertThat(retries(0.5).backoff(1_000)).as("no overflow however many retries")
                .isEqualTo(Duration.ofMinutes(1L << 16));
    }

    @Test
    void aFailureIsRetriedAsOftenAsThePolicyAllowsThenGivenUp() {
        Retries r = retries(0.5);
        assertThat(r.after(job(0, null), TWO_RETRIES_ONE_HOUR, new Retries.Attempt.Failed("e1"), T0))
                .isEqualTo(new Retries.Decision.RetryAt(T0.plus(Duration.ofMinutes(1)), 1, "e1"));
        assertThat(r.after(job(1, "e1"), TWO_RETRIES_ONE_HOUR, new Retries.Attempt.Failed("e2"), T0))
                .isEqualTo(new Retries.Decision.RetryAt(T0.plus(Duration.ofMinutes(2)), 2, "e2"));
        assertThat(r.after(job(2, "e2"), TWO_RETRIES_ONE_HOUR, new Retries.Attempt.Failed("e3"), T0))
                .isEqualTo(new Retries.Decision.GiveUp(DeadLetter.Reason.RETRIES_EXHAUSTED, "e3", 3));
        AsyncPolicy none = new AsyncPolicy(0, Duration.ofHours(1), Optional.empty(), Optional.empty());
        assertThat(r.after(job(0, null), none, new Retries.Attempt.Failed("e"), T0))
                .isEqualTo(new Retries.Decision.GiveUp(DeadLetter.Reason.RETRIES_EXHAUSTED, "e", 1));
    }

    @Test
    void anEventTooOldToRunOrToWaitForItsNextRetryIsGivenUpForItsAge() {
        Retries r = retries(0.5);
        Instant atExpiry = T0.plus(Duration.ofHours(1));
        assertThat(r.before(job(1, "last"), TWO_RETRIES_ONE_HOUR, atExpiry.minusMillis(1)))
                .isEqualTo(new Retries.Decision.Run());
        assertThat(r.before(job(1, "last"), TWO_RETRIES_ONE_HOUR, atExpiry))
                .isEqualTo(new Retries.Decision.GiveUp(DeadLetter.Reason.EVENT_AGE_EXCEEDED, "last", 1));
        // failed at 59 min: a retry in 1 min would come at the event's maximum age
        assertThat(r.after(job(0, null), TWO_RETRIES_ONE_HOUR, new Retries.Attempt.Failed("e"),
                atExpiry.minus(Duration.ofMinutes(1))))
                .isEqualTo(new Retries.Decision.GiveUp(DeadLetter.Reason.EVENT_AGE_EXCEEDED, "e", 1));
    }

    @Test
    void aThrottledAttemptWaitsASecondWithoutCountingAndAMissingFunctionIsGivenUp() {
        Retries r = retries(0.5);
        assertThat(r.after(job(1, "e1"), TWO_RETRIES_ONE_HOUR, new Retries.Attempt.Throttled(), T0))
                .isEqualTo(new Retries.Decision.WaitUntil(T0.plusSeconds(1)));
        assertThat(r.after(job(1, "e1"), TWO_RETRIES_ONE_HOUR, new Retries.Attempt.NotFound("gone"), T0))
                .isEqualTo(new Retries.Decision.GiveUp(DeadLetter.Reason.FUNCTION_NOT_FOUND, "gone", 1));
        assertThat(r.after(job(1, "e1"), TWO_RETRIES_ONE_HOUR, new Retries.Attempt.Succeeded(), T0))
                .isEqualTo(new Retries.Decision.Remove());
    }
}
