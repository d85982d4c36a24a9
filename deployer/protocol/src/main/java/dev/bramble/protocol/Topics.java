package dev.bramble.protocol;

import java.nio.charset.StandardCharsets;

/** MQTT topic names and filters: the checks of the MQTT specification, and matching a name against a filter. */
public final class Topics {
    /** MQTT's limit on a topic's UTF-8 length. */
    public static final int MAX_BYTES = 65_535;

    private Topics() {
    }

    /** What is wrong with a topic filter, or null when it is valid. */
    public static String filterProblem(String filter) {
        String common = common(filter);
        if (common != null) {
            return common;
        }
        String[] levels = filter.split("/", -1);
        for (int i = 0; i < levels.length; i++) {
            String level = levels[i];
            if (level.contains("#") && (!level.equals("#") || i != levels.length - 1)) {
                return "'" + filter + "': '#' must be a whole level and the last one";
            }
            if (level.contains("+") && !level.equals("+")) {
                return "'" + filter + "': '+' must be a whole level";
            }
        }
        return null;
    }

    /** What is wrong with a topic name (no wildcards), or null when it is valid. */
    public static String nameProblem(String name) {
        String common = common(name);
        if (common != null) {
            return common;
        }
        if (name.contains("+") || name.contains("#")) {
            return "'" + name + "': a topic to publish to cannot contain the wildcards '+' or '#'";
        }
        return null;
    }

    private static String common(String topic) {
        if (topic.isEmpty()) {
            return "a topic cannot be empty";
        }
        if (topic.indexOf('\0') >= 0) {
            return "a topic cannot contain the NUL character";
        }
        if (topic.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            return "a topic is at most " + MAX_BYTES + " bytes of UTF-8";
        }
        return null;
    }

    /** Whether a topic name matches a filter, as a broker decides ({@code $} topics match no leading wildcard). */
    public static boolean matches(String filter, String topic) {
        if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) {
            return false;
        }
        String[] f = filter.split("/", -1);
        String[] t = topic.split("/", -1);
        for (int i = 0; i < f.length; i++) {
            if (f[i].equals("#")) {
                return true;
            }
            if (i >= t.length) {
                return false;
            }
            if (!f[i].equals("+") && !f[i].equals(t[i])) {
                return false;
            }
        }
        return f.length == t.length;
    }
}
