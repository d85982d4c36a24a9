package dev.bramble.cli;

import picocli.CommandLine;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The CLI's durations: a whole number and a unit, {@code 30s}, {@code 10m}, {@code 12h}, {@code 7d}. */
final class Durations {
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})([smhd])");

    private Durations() {
    }

    /** The duration {@code text} says, if it is one. */
    static Optional<Duration> of(String text) {
        Matcher m = DURATION.matcher(text == null ? "" : text);
        if (!m.matches()) {
            return Optional.empty();
        }
        long n = Long.parseLong(m.group(1));
        return Optional.of(switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        });
    }

    /** The duration an option gives, or a usage error naming the option, its value and the allowed units. */
    static Duration option(CommandLine.Model.CommandSpec spec, String option, String text, String units,
                           String examples) {
        return of(text).filter(d -> units.indexOf(Character.toLowerCase(text.charAt(text.length() - 1))) >= 0)
                .orElseThrow(() -> new CommandLine.ParameterException(spec.commandLine(), option + " '" + text
                        + "' is not allowed; use " + examples));
    }
}
