package dev.bramble.protocol;

import java.util.List;

/** A bundle that cannot be accepted. {@link #problems()} lists every problem found, not just the first. */
public class BundleException extends RuntimeException {
    private final List<String> problems;

    public BundleException(List<String> problems) {
        super(message(problems));
        this.problems = List.copyOf(problems);
    }

    /** Each problem, naming what is wrong and what is allowed. */
    public List<String> problems() {
        return problems;
    }

    private static String message(List<String> problems) {
        return problems.size() == 1 ? "bundle rejected: " + problems.getFirst()
                : "bundle rejected, " + problems.size() + " problems: " + String.join("; ", problems);
    }
}
