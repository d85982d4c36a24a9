package dev.bramble.protocol;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZoneId;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ScheduleExpressionTest {
    private static final ZoneId UTC = ZoneId.of("UTC");

    @Test
    void ratesRunOnMultiplesOfThePeriodSinceTheEpoch() {
        ScheduleExpression rate = ScheduleExpression.parse("rate(10 seconds)");
        assertThat(rate.next(Instant.parse("2026-11-22T10:00:03Z"), UTC)).contains(Instant.parse("2026-11-22T10:00:10Z"));
        assertThat(rate.next(Instant.parse("2026-11-22T10:00:10Z"), UTC)).contains(Instant.parse("2026-11-22T10:00:20Z"));
        assertThat(rate.previous(Instant.parse("2026-11-22T10:00:10Z"), UTC)).contains(Instant.parse("2026-11-22T10:00:10Z"));
        assertThat(ScheduleExpression.parse("rate(1 minute)").next(Instant.parse("2026-11-22T10:00:03Z"), UTC))
                .contains(Instant.parse("2026-11-22T10:01:00Z"));
        assertThat(ScheduleExpression.parse("rate(2 hours)").next(Instant.parse("2026-11-22T10:00:03Z"), UTC))
                .contains(Instant.parse("2026-11-22T12:00:00Z"));
    }

    @Test
    void cronUsesEventBridgeFieldsInTheScheduleZone() {
        ScheduleExpression weekdays = ScheduleExpression.parse("cron(0 18 ? * MON-FRI *)");
        // Sunday 2026-11-22 → Monday 18:00.
        assertThat(weekdays.next(Instant.parse("2026-11-22T12:00:00Z"), UTC))
                .contains(Instant.parse("2026-11-23T18:00:00Z"));
        assertThat(weekdays.next(Instant.parse("2026-11-22T12:00:00Z"), ZoneId.of("Europe/Berlin")))
                .contains(Instant.parse("2026-11-23T17:00:00Z"));
        ScheduleExpression quarter = ScheduleExpression.parse("cron(0/15 * * * ? *)");
        assertThat(quarter.next(Instant.parse("2026-11-22T12:07:00Z"), UTC))
                .contains(Instant.parse("2026-11-22T12:15:00Z"));
        assertThat(quarter.previous(Instant.parse("2026-11-22T12:07:00Z"), UTC))
                .contains(Instant.parse("2026-11-22T12:00:00Z"));
        // Day of week 1 is Sunday, as in EventBridge.
        assertThat(ScheduleExpression.parse("cron(0 8 ? * 1 *)").next(Instant.parse("2026-11-20T00:00:00Z"), UTC))
                .contains(Instant.parse("2026-11-22T08:00:00Z"));
        assertThat(ScheduleExpression.parse("cron(0 8 1 JAN ? 2027)").next(Instant.parse("2026-11-20T00:00:00Z"), UTC))
                .contains(Instant.parse("2027-01-01T08:00:00Z"));
    }

    @Test
    void badExpressionsSayWhatIsAllowed() {
        assertThatThrownBy(() -> ScheduleExpression.parse("every 5 minutes"))
                .hasMessageContaining("use rate(N seconds|minutes|hours|days) or cron(");
        assertThatThrownBy(() -> ScheduleExpression.parse("cron(0 18 * *)"))
                .hasMessageContaining("cron takes six fields").hasMessageContaining("got 4");
        assertThatThrownBy(() -> ScheduleExpression.parse("cron(0 18 * * MON *)"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ScheduleExpression.parse("cron(61 * * * ? *)"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ScheduleExpression.parse("rate(0 minutes)")).hasMessageContaining("at least 1");
    }
}
