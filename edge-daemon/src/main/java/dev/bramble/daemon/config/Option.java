package dev.bramble.daemon.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * One configuration option of brambled, defined once by the feature that reads it: its dotted key, default,
 * what values are allowed, unit and meaning. {@link Options} reads it from the YAML tree; {@code --help-config} and
 * the table in docs/operators.md are printed from it. As Californium's {@code CoapConfig} definitions are.
 *
 * @param <T> the value's type
 */
public abstract sealed class Option<T> permits Option.Whole, Option.Flag, Option.Text, Option.Texts {
    private final String key;
    private final Supplier<T> defaultValue;
    private final String defaultText;
    private final String unit;
    private final String doc;

    private Option(String key, Supplier<T> defaultValue, String defaultText, String unit, String doc) {
        if (!key.matches("[a-z0-9-]+(\\.[a-z0-9-]+)*")) {
            throw new IllegalArgumentException("option key '" + key + "' is not lower-case dotted words");
        }
        this.key = key;
        this.defaultValue = defaultValue;
        this.defaultText = defaultText;
        this.unit = unit;
        this.doc = doc;
    }

    /** A whole number from {@code min} to {@code max}, in {@code unit} (empty for a count). */
    public static Option<Integer> integer(String key, int defaultValue, int min, int max, String unit, String doc) {
        return new Whole<>(key, () -> defaultValue, String.valueOf(defaultValue), min, max, unit, doc, Long::intValue);
    }

    /** A whole number that may pass an int. */
    public static Option<Long> longInteger(String key, long defaultValue, long min, long max, String unit,
                                           String doc) {
        return new Whole<>(key, () -> defaultValue, String.valueOf(defaultValue), min, max, unit, doc, v -> v);
    }

    /** true or false. */
    public static Option<Boolean> flag(String key, boolean defaultValue, String doc) {
        return new Flag(key, defaultValue, doc);
    }

    /** A string; build its rules with the {@link Text} methods. */
    public static Text text(String key, String defaultValue, String allowed, String doc) {
        return new Text(key, () -> defaultValue, defaultValue.isEmpty() ? "empty" : defaultValue, allowed, doc);
    }

    /**
     * A string whose default is found on the machine (a host name, the running JDK): {@code defaultText} says how
     * in the help and the docs, which must not depend on the machine they were printed on.
     */
    public static Text text(String key, Supplier<String> defaultValue, String defaultText, String allowed,
                            String doc) {
        return new Text(key, defaultValue, defaultText, allowed, doc);
    }

    /** A list of strings. */
    public static Option<List<String>> strings(String key, List<String> defaultValue, String doc) {
        return new Texts(key, List.copyOf(defaultValue), doc);
    }

    public String key() {
        return key;
    }

    /** The built-in default (a device profile may replace it: {@link Options#override}). */
    public T defaultValue() {
        return defaultValue.get();
    }

    /** The default as the help and the docs print it. */
    public String defaultText() {
        return defaultText;
    }

    /** What values are allowed, in words. */
    public abstract String allowed();

    /** The unit of a number: ms, s, MB, bytes…; empty when there is none. */
    public String unit() {
        return unit;
    }

    public String doc() {
        return doc;
    }

    /** The value of {@code node}, or null after adding what is wrong with it to {@code problems}. */
    abstract T read(JsonNode node, List<String> problems);

    /** Problems of a value that has the right type (a range, a pattern); empty when there are none. */
    void check(T value, List<String> problems) {
    }

    /** A whole number within bounds. */
    public static final class Whole<T extends Number> extends Option<T> {
        private final long min;
        private final long max;
        private final java.util.function.Function<Long, T> convert;

        private Whole(String key, Supplier<T> defaultValue, String defaultText, long min, long max, String unit,
                      String doc, java.util.function.Function<Long, T> convert) {
            super(key, defaultValue, defaultText, unit, doc);
            this.min = min;
            this.max = max;
            this.convert = convert;
            long d = defaultValue.get().longValue();
            if (d < min || d > max) {
                throw new IllegalArgumentException(key + ": default " + d + " is outside " + min + ".." + max);
            }
        }

        public long min() {
            return min;
        }

        public long max() {
            return max;
        }

        @Override
        public String allowed() {
            return min + ".." + max;
        }

        @Override
        T read(JsonNode n, List<String> problems) {
            if (!n.isNumber() || !n.canConvertToExactIntegral() || !n.canConvertToLong()) {
                problems.add(key() + ": expected a whole number from " + min + " to " + max + ", got " + n);
                return null;
            }
            long v = n.asLong();
            if (v < min || v > max) {
                problems.add(key() + ": " + v + " is outside the allowed range " + min + ".." + max);
                return null;
            }
            return convert.apply(v);
        }
    }

    /** true or false. */
    public static final class Flag extends Option<Boolean> {
        private Flag(String key, boolean defaultValue, String doc) {
            super(key, () -> defaultValue, String.valueOf(defaultValue), "", doc);
        }

        @Override
        public String allowed() {
            return "true or false";
        }

        @Override
        Boolean read(JsonNode n, List<String> problems) {
            if (!n.isBoolean()) {
                problems.add(key() + ": expected true or false, got " + n);
                return null;
            }
            return n.asBoolean();
        }
    }

    /** A string, with the rules its feature sets: empty allowed or not, a pattern, a file, a host, a secret. */
    public static final class Text extends Option<String> {
        private final String allowed;
        private boolean optional;
        private Pattern pattern;
        private boolean file;
        private boolean host;
        private boolean secret;

        private Text(String key, Supplier<String> defaultValue, String defaultText, String allowed, String doc) {
            super(key, defaultValue, defaultText, "", doc);
            this.allowed = allowed;
        }

        /** Empty is allowed (and means what the doc says). */
        public Text optional() {
            optional = true;
            return this;
        }

        /** Must match {@code regex}, when not empty. */
        public Text matching(String regex) {
            pattern = Pattern.compile(regex);
            return this;
        }

        /** Must be a readable file, when not empty. */
        public Text readableFile() {
            file = true;
            return this;
        }

        /** Must be an address or a host name that resolves. */
        public Text resolvableHost() {
            host = true;
            return this;
        }

        /** A secret: at least 16 characters, or empty. */
        public Text secret() {
            optional = true;
            secret = true;
            return this;
        }

        @Override
        public String allowed() {
            return allowed;
        }

        @Override
        String read(JsonNode n, List<String> problems) {
            boolean ok = optional ? n.isValueNode() && (!secret || n.isTextual())
                    : n.isValueNode() && !n.asText().isBlank();
            if (!ok) {
                problems.add(key() + ": expected " + (optional ? "a string" : "a non-empty string") + ", got " + n);
                return null;
            }
            return n.asText();
        }

        @Override
        void check(String s, List<String> problems) {
            if (s.isEmpty()) {
                return;
            }
            if (secret && s.length() < 16) {
                problems.add(key() + ": " + s.length() + " characters is too short to be a secret; use at least 16, "
                        + "or leave it empty");
            }
            if (pattern != null && !pattern.matcher(s).matches()) {
                problems.add(key() + ": '" + s + "' is not allowed; expected " + allowed);
            }
            if (file && !Files.isReadable(Path.of(s))) {
                problems.add(key() + ": '" + s + "' is not a readable file");
            }
            if (host) {
                try {
                    InetAddress.getByName(s);
                } catch (UnknownHostException e) {
                    problems.add(key() + ": '" + s + "' is not an address or a host name that resolves");
                }
            }
        }
    }

    /** A list of strings. */
    public static final class Texts extends Option<List<String>> {
        private Texts(String key, List<String> defaultValue, String doc) {
            super(key, () -> defaultValue, String.join(" ", defaultValue), "", doc);
        }

        @Override
        public String allowed() {
            return "a list of strings";
        }

        @Override
        List<String> read(JsonNode n, List<String> problems) {
            List<String> out = new ArrayList<>();
            if (n.isArray()) {
                for (JsonNode e : n) {
                    if (!e.isValueNode()) {
                        out = null;
                        break;
                    }
                    out.add(e.asText());
                }
            }
            if (!n.isArray() || out == null) {
                problems.add(key() + ": expected a list of strings, got " + n);
                return null;
            }
            return List.copyOf(out);
        }
    }
}
