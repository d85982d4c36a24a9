package dev.bramble.daemon.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads {@link Option}s from a YAML tree (dotted keys are nested mappings), a default where a key is absent, and
 * collects every problem instead of stopping at the first: the caller lists them all at once.
 */
public final class Options {
    private final JsonNode root;
    private final Map<String, Option<?>> known = new LinkedHashMap<>();
    private final Map<Option<?>, Object> overrides = new HashMap<>();
    private final List<String> problems = new ArrayList<>();

    /** @param all every option there is, in the order the help lists them; a key defined twice is refused */
    public Options(JsonNode root, List<Option<?>> all) {
        this.root = root;
        for (Option<?> o : all) {
            if (known.put(o.key(), o) != null) {
                throw new IllegalArgumentException("option " + o.key() + " is defined twice");
            }
        }
    }

    /** Replaces an option's built-in default (the device profile's value); the YAML still wins. */
    public <T> void override(Option<T> option, T value) {
        overrides.put(option, value);
    }

    /** The default in force: a profile's, else the built-in one. */
    @SuppressWarnings("unchecked")
    private <T> T defaultOf(Option<T> option) {
        return overrides.containsKey(option) ? (T) overrides.get(option) : option.defaultValue();
    }

    /** The option's value: from the tree, else its default; a wrong value is a problem, and the default is used. */
    public <T> T get(Option<T> option) {
        JsonNode n = node(option.key());
        if (n == null) {
            return defaultOf(option);
        }
        T v = option.read(n, problems);
        if (v == null) {
            return defaultOf(option);
        }
        option.check(v, problems);
        return v;
    }

    /** A problem found beyond one option's own rules (two options that disagree, say). */
    public void problem(String problem) {
        problems.add(problem);
    }

    /** Every problem so far, in the order found; with {@link #unknownKeys()} called first, all of them. */
    public List<String> problems() {
        return List.copyOf(problems);
    }

    /** Adds a problem for every key in the tree that no option defines. */
    public void unknownKeys() {
        if (!root.isObject()) {
            return;
        }
        Set<String> seen = new LinkedHashSet<>();
        collect((ObjectNode) root, "", seen);
        for (String key : seen) {
            if (!known.containsKey(key)) {
                problems.add(key + ": unknown key; known keys: " + known.keySet());
            }
        }
    }

    private JsonNode node(String key) {
        JsonNode n = root;
        for (String part : key.split("\\.")) {
            n = n.path(part);
        }
        return n.isMissingNode() || n.isNull() ? null : n;
    }

    private void collect(ObjectNode node, String prefix, Set<String> out) {
        node.properties().forEach(e -> {
            String key = prefix + e.getKey();
            if (e.getValue().isObject() && !known.containsKey(key)) {
                collect((ObjectNode) e.getValue(), key + ".", out);
            } else {
                out.add(key);
            }
        });
    }

    /** {@code --help-config}: every option, its default, what is allowed and what it means. */
    public static String help(String title, List<Option<?>> all) {
        StringBuilder sb = new StringBuilder(title).append('\n');
        for (Option<?> o : all) {
            sb.append(String.format("  %-36s default %s%s; allowed %s%n      %s%n", o.key(), o.defaultText(),
                    o.unit().isEmpty() ? "" : " " + o.unit(), o.allowed(), o.doc()));
        }
        return sb.toString();
    }

    /** The same as a Markdown table: what docs/operators.md carries between its options markers. */
    public static String markdown(List<Option<?>> all) {
        StringBuilder sb = new StringBuilder("| key | default | allowed | unit | meaning |\n|---|---|---|---|---|\n");
        for (Option<?> o : all) {
            sb.append("| `").append(o.key()).append("` | ").append(cell(o.defaultText())).append(" | ")
                    .append(cell(o.allowed())).append(" | ").append(o.unit()).append(" | ").append(cell(o.doc()))
                    .append(" |\n");
        }
        return sb.toString();
    }

    private static String cell(String s) {
        return s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;");
    }
}
