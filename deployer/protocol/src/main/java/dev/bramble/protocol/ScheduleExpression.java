package dev.bramble.protocol;

import com.cronutils.model.Cron;
import com.cronutils.model.definition.CronConstraintsFactory;
import com.cronutils.model.definition.CronDefinition;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An EventBridge schedule expression: {@code rate(N unit)} or {@code cron(min hour dom month dow year)}.
 * Rates also take seconds, which devices need and EventBridge lacks. Cron fields are parsed by cron-utils with
 * EventBridge's definition: six fields, {@code ?} in day-of-month or day-of-week, days of the week 1-7 from
 * Sunday, {@code L}, {@code W} and {@code #}.
 */
public sealed interface ScheduleExpression {
    /** The expression as written. */
    String text();

    /** The first run strictly after {@code after}, in {@code zone}; empty when the schedule never runs again. */
    Optional<Instant> next(Instant after, ZoneId zone);

    /** The last run at or before {@code at}; empty when there was none. */
    Optional<Instant> previous(Instant at, ZoneId zone);

    /**
     * {@code rate(…)}: runs at every multiple of the period since the Unix epoch, so runs fall on the same instants
     * whenever the daemon starts (a {@code rate(10 seconds)} at :00, :10, :20 …).
     */
    record Rate(String text, Duration period) implements ScheduleExpression {
        @Override
        public Optional<Instant> next(Instant after, ZoneId zone) {
            long p = period.toMillis();
            return Optional.of(Instant.ofEpochMilli(Math.floorDiv(after.toEpochMilli(), p) * p + p));
        }

        @Override
        public Optional<Instant> previous(Instant at, ZoneId zone) {
            long p = period.toMillis();
            return Optional.of(Instant.ofEpochMilli(Math.floorDiv(at.toEpochMilli(), p) * p));
        }
    }

    /** {@code cron(…)}. */
    record CronSchedule(String text, Cron cron) implements ScheduleExpression {
        @Override
        public Optional<Instant> next(Instant after, ZoneId zone) {
            return ExecutionTime.forCron(cron).nextExecution(ZonedDateTime.ofInstant(after, zone))
                    .map(ZonedDateTime::toInstant);
        }

        @Override
        public Optional<Instant> previous(Instant at, ZoneId zone) {
            // cron-utils' lastExecution is strictly before; a run exactly at `at` counts as previous.
            return ExecutionTime.forCron(cron).lastExecution(ZonedDateTime.ofInstant(at.plusMillis(1), zone))
                    .map(ZonedDateTime::toInstant);
        }
    }

    Pattern RATE = Pattern.compile("rate\\(\\s*(\\d{1,9})\\s+([a-z]+)\\s*\\)");
    Pattern CRON = Pattern.compile("cron\\((.*)\\)");
    CronDefinition EVENTBRIDGE = CronDefinitionBuilder.defineCron()
            .withMinutes().withValidRange(0, 59).and()
            .withHours().withValidRange(0, 23).and()
            .withDayOfMonth().withValidRange(1, 31).supportsL().supportsW().supportsLW().supportsQuestionMark().and()
            .withMonth().withValidRange(1, 12).and()
            .withDayOfWeek().withValidRange(1, 7).withMondayDoWValue(2).supportsHash().supportsL()
            .supportsQuestionMark().and()
            .withYear().withValidRange(1970, 2199).and()
            .withCronValidation(CronConstraintsFactory.ensureEitherDayOfWeekOrDayOfMonth())
            .instance();

    /**
     * Parses an expression.
     *
     * @throws IllegalArgumentException saying what is wrong and what is allowed
     */
    static ScheduleExpression parse(String text) {
        String t = text.trim();
        Matcher rate = RATE.matcher(t);
        if (rate.matches()) {
            long n = Long.parseLong(rate.group(1));
            String unit = rate.group(2).toLowerCase(Locale.ROOT);
            Duration unitLength = switch (unit.endsWith("s") ? unit.substring(0, unit.length() - 1) : unit) {
                case "second" -> Duration.ofSeconds(1);
                case "minute" -> Duration.ofMinutes(1);
                case "hour" -> Duration.ofHours(1);
                case "day" -> Duration.ofDays(1);
                default -> throw new IllegalArgumentException("'" + text + "': unit '" + unit + "' is not allowed; "
                        + "use seconds, minutes, hours or days");
            };
            if (n < 1) {
                throw new IllegalArgumentException("'" + text + "': the rate must be at least 1");
            }
            return new Rate(t, unitLength.multipliedBy(n));
        }
        Matcher cron = CRON.matcher(t);
        if (cron.matches()) {
            String fields = cron.group(1).trim();
            int count = fields.isEmpty() ? 0 : fields.split("\\s+").length;
            if (count != 6) {
                throw new IllegalArgumentException("'" + text + "': cron takes six fields (minutes hours "
                        + "day-of-month month day-of-week year), got " + count);
            }
            try {
                return new CronSchedule(t, new CronParser(EVENTBRIDGE).parse(fields.toUpperCase(Locale.ROOT))
                        .validate());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + text + "': " + e.getMessage());
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a schedule; use rate(N seconds|minutes|hours|days)"
                + " or cron(minutes hours day-of-month month day-of-week year)");
    }
}
