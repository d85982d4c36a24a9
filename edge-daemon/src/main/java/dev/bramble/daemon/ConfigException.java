package dev.bramble.daemon;

import java.util.List;

/** The configuration is invalid; the message lists every problem. */
public final class ConfigException extends RuntimeException {
    private final List<String> problems;

    ConfigException(String source, List<String> problems) {
        super("invalid configuration in " + source + ", " + problems.size()
                + (problems.size() == 1 ? " problem" : " problems") + ":\n  - " + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    /** Each problem, naming the key, the bad value and what is allowed. */
    public List<String> problems() {
        return problems;
    }
}
