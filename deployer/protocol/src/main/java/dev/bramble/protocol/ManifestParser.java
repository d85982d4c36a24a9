package dev.bramble.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Parses and validates {@code function.json}. Every problem is collected, each naming the field, the bad
 * value and what is allowed, so an author fixes them all in one go.
 */
public final class ManifestParser {
    public static final int MIN_MEMORY_MB = 32;
    public static final int MAX_MEMORY_MB = 10_240;
    public static final int DEFAULT_MEMORY_MB = 128;
    public static final int MIN_TIMEOUT_S = 1;
    public static final int MAX_TIMEOUT_S = 900;
    public static final int DEFAULT_TIMEOUT_S = 3;
    public static final int MIN_TMP_MB = 1;
    public static final int MAX_TMP_MB = 10_240;
    public static final int DEFAULT_TMP_MB = 32;
    public static final int MAX_RESERVED = 1_000;
    public static final int MAX_PER_ENVIRONMENT = 64;
    public static final double MIN_CPUS = 0.05;
    public static final double MAX_CPUS = 64;
    public static final int MAX_ENVIRONMENT_BYTES = 4 * 1024;
    public static final int MAX_DESCRIPTION = 256;
    public static final int MAX_TEST_EVENTS = 10;
    public static final int MAX_TEST_EVENT_BYTES = 64 * 1024;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    /** Functions one function may be granted to invoke. */
    static final int MAX_INVOKES = 64;
    private static final String IDENT = "[A-Za-z_$][A-Za-z0-9_$]*";
    private static final Pattern HANDLER = Pattern.compile(IDENT + "(\\." + IDENT + ")*(::" + IDENT + ")?");
    /** Python's {@code module.function}, the module dotted as Python imports it ({@code pkg.mod.handler}). */
    private static final Pattern PYTHON_HANDLER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+");
    /** Node's {@code module.function}, the module a path under the task root without its extension. */
    private static final Pattern NODE_HANDLER = Pattern.compile(
            "[A-Za-z0-9_][A-Za-z0-9_-]*(/[A-Za-z0-9_][A-Za-z0-9_-]*)*\\.[A-Za-z_$][A-Za-z0-9_$]*");
    /** A provided runtime's handler: passed to its bootstrap as {@code _HANDLER}, nothing more. */
    private static final Pattern FREE_HANDLER = Pattern.compile("[A-Za-z0-9_.:/$-]{1,128}");
    private static final Pattern ENV_KEY = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");
    private static final Set<String> RESERVED_ENV = Set.of("_HANDLER", "_X_AMZN_TRACE_ID", "LAMBDA_TASK_ROOT",
            "LAMBDA_RUNTIME_DIR", "TZ", "PATH", "LANG", "TMPDIR", "HOME");
    /**
     * Variables that change how the dynamic loader, the C library or the JVM starts. They would turn a bundle into
     * code run before the runtime; refused. {@code JAVA_TOOL_OPTIONS} is allowed, as on Lambda: it reaches only the
     * function's own JVM, inside its sandbox.
     */
    private static final Set<String> STARTUP_ENV = Set.of("GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "NLSPATH",
            "HOSTALIASES", "RESOLV_HOST_CONF", "MALLOC_TRACE", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTIONS",
            "CLASSPATH", "JAVA_HOME");
    private static final List<String> FIELDS = List.of("name", "runtime", "handler", "memoryMb", "timeoutSeconds",
            "tmpMb", "cpus", "environment", "description", "concurrency", "triggers", "async", "testEvents", "network", "invokes");
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    /** For manifests stored before duplicate keys were refused: they were accepted once and still load. */
    private static final ObjectMapper LENIENT = JsonMapper.builder().build();

    private ManifestParser() {
    }

    /**
     * What a manifest gets for the fields it leaves out, where a device may choose: its profile's defaults.
     *
     * @param memoryMb the memory of one environment, MB
     * @param tmpMb    the size of /tmp, MB
     */
    public record Defaults(int memoryMb, int tmpMb) {
        /** Bramble's own defaults, for a device that says nothing. */
        public static final Defaults BRAMBLE = new Defaults(DEFAULT_MEMORY_MB, DEFAULT_TMP_MB);
    }

    /**
     * Parses a manifest with Bramble's defaults.
     *
     * @throws InvalidManifestException listing every problem found
     */
    public static Manifest parse(byte[] json) {
        return parse(json, Defaults.BRAMBLE);
    }

    /**
     * Parses a manifest; fields it leaves out that a device chooses come from {@code defaults}.
     *
     * @throws InvalidManifestException listing every problem found
     */
    public static Manifest parse(byte[] json, Defaults defaults) {
        return parse(json, defaults, JSON);
    }

    /**
     * A manifest the device stored when it was deployed: as {@link #parse(byte[], Defaults)}, but a key given
     * twice (refused at deployment since) keeps its last value, so no stored version stops loading.
     */
    public static Manifest parseStored(byte[] json, Defaults defaults) {
        return parse(json, defaults, LENIENT);
    }

    private static Manifest parse(byte[] json, Defaults defaults, ObjectMapper mapper) {
        JsonNode root;
        try {
            root = mapper.readTree(json);
        } catch (JsonProcessingException e) {
            throw new InvalidManifestException(List.of("function.json is not valid JSON: "
                    + e.getOriginalMessage()));
        } catch (java.io.IOException e) {
            throw new InvalidManifestException(List.of("function.json could not be read: " + e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new InvalidManifestException(List.of("function.json must be a JSON object, got "
                    + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase())));
        }
        Fields f = new Fields(root);
        String name = f.string("name", true);
        if (name != null && !NAME.matcher(name).matches()) {
            f.problem("name: '" + name + "' is not allowed; use 1 to 64 letters, digits, '-' or '_'");
        }
        String runtime = f.string("runtime", true);
        Manifest.Runtime kind = runtime == null ? null : Manifest.Runtime.of(runtime).orElse(null);
        if (runtime != null && kind == null) {
            f.problem("runtime: '" + runtime + "' is not supported; allowed: " + Manifest.Runtime.names()
                    + lambdaName(runtime));
        }
        String handler = f.string("handler", true);
        if (handler != null && kind != null) {
            handlerProblem(kind, handler).ifPresent(f::problem);
        }
        int memory = f.integer("memoryMb", defaults.memoryMb(), MIN_MEMORY_MB, MAX_MEMORY_MB);
        int timeout = f.integer("timeoutSeconds", DEFAULT_TIMEOUT_S, MIN_TIMEOUT_S, MAX_TIMEOUT_S);
        int tmp = f.integer("tmpMb", defaults.tmpMb(), MIN_TMP_MB, MAX_TMP_MB);
        Optional<Double> cpus = f.decimal("cpus", MIN_CPUS, MAX_CPUS);
        Map<String, String> env = f.environment();
        String description = f.string("description", false);
        if (description != null && description.length() > MAX_DESCRIPTION) {
            f.problem("description: " + description.length() + " characters; at most " + MAX_DESCRIPTION);
        }
        Manifest.Concurrency concurrency = f.concurrency();
        List<Trigger> triggers = new TriggerFields(f::problem, name).triggers(root.get("triggers"));
        AsyncPolicy async = f.async();
        List<String> testEvents = f.testEvents();
        Manifest.Network network = f.network();
        List<String> invokes = f.invokes(name);
        if (!invokes.isEmpty() && network == Manifest.Network.NONE) {
            f.problem("invokes: a function with \"network\": \"none\" cannot reach the device's function gateway; "
                    + "drop invokes, or use \"network\": \"outbound\"");
        }
        if (kind != null && kind.runtimeApi() && network == Manifest.Network.NONE) {
            f.problem("network: \"none\" is for java21 functions; a " + runtime + " function reaches its Runtime "
                    + "API on the device's loopback, which a network of its own does not have; use \"outbound\"");
        }
        f.unknownFields();
        if (!f.problems.isEmpty()) {
            throw new InvalidManifestException(f.problems);
        }
        return new Manifest(name, runtime, handler, memory, timeout, tmp, cpus, env,
                description == null ? "" : description, concurrency, triggers, async, testEvents, network, invokes);
    }

    /** A hint for Lambda's versioned runtime names: a device runs its own interpreter, whatever its version. */
    private static String lambdaName(String runtime) {
        for (String family : List.of("python3", "nodejs", "provided")) {
            if (runtime.startsWith(family)) {
                return " (a device runs its own " + (family.equals("provided") ? "bootstrap" : "interpreter")
                        + ", whatever version it has: write \"" + family + "\")";
            }
        }
        return "";
    }

    /** What is wrong with a handler name for its runtime, naming what is allowed. */
    private static Optional<String> handlerProblem(Manifest.Runtime runtime, String handler) {
        return switch (runtime) {
            case JAVA21 -> HANDLER.matcher(handler).matches() ? Optional.empty() : Optional.of("handler: '"
                    + handler + "' is not a handler name; use pkg.Class or pkg.Class::method");
            case PYTHON3 -> PYTHON_HANDLER.matcher(handler).matches() ? Optional.empty() : Optional.of("handler: '"
                    + handler + "' is not a Python handler; use module.function (lambda_function.lambda_handler, "
                    + "or pkg.module.function)");
            case NODEJS -> NODE_HANDLER.matcher(handler).matches() ? Optional.empty() : Optional.of("handler: '"
                    + handler + "' is not a Node.js handler; use module.function (index.handler, or "
                    + "src/app.handler), the module a file under the bundle's top without .js, .mjs or .cjs");
            case PROVIDED -> FREE_HANDLER.matcher(handler).matches() ? Optional.empty() : Optional.of("handler: '"
                    + handler + "' is not allowed; a provided runtime's handler is 1 to 128 letters, digits or . _ : "
                    + "/ $ -, passed to its bootstrap as _HANDLER");
        };
    }

    /** Reads fields of one object node, collecting problems instead of stopping at the first. */
    private static final class Fields {
        private final JsonNode root;
        private final List<String> problems = new ArrayList<>();

        Fields(JsonNode root) {
            this.root = root;
        }

        void problem(String p) {
            problems.add(p);
        }

        String string(String field, boolean required) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                if (required) {
                    problem(field + ": required, missing");
                }
                return null;
            }
            if (!n.isTextual()) {
                problem(field + ": expected a string, got " + n);
                return null;
            }
            return n.textValue();
        }

        Manifest.Network network() {
            String value = string("network", false);
            if (value == null) {
                return Manifest.Network.OUTBOUND;
            }
            for (Manifest.Network n : Manifest.Network.values()) {
                if (n.json().equals(value)) {
                    return n;
                }
            }
            problem("network: '" + value + "' is not allowed; use \"outbound\" (the default: the device's network, "
                    + "never the daemon's own ports) or \"none\" (no network at all)");
            return Manifest.Network.OUTBOUND;
        }

        int integer(String field, int dflt, int min, int max) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return dflt;
            }
            return checkedInt(field, n, min, max, dflt);
        }

        Optional<Double> decimal(String field, double min, double max) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return Optional.empty();
            }
            if (!n.isNumber() || n.asDouble() < min || n.asDouble() > max) {
                problem(field + ": expected a number of cores from " + min + " to " + max + ", got " + n);
                return Optional.empty();
            }
            return Optional.of(n.asDouble());
        }

        int checkedInt(String field, JsonNode n, int min, int max, int dflt) {
            if (!n.canConvertToExactIntegral() || !n.isNumber() || !n.canConvertToInt()) {
                problem(field + ": expected a whole number from " + min + " to " + max + ", got " + n);
                return dflt;
            }
            int v = n.asInt();
            if (v < min || v > max) {
                problem(field + ": " + v + " is outside the allowed range " + min + ".." + max);
                return dflt;
            }
            return v;
        }

        Map<String, String> environment() {
            JsonNode n = root.get("environment");
            Map<String, String> env = new LinkedHashMap<>();
            if (n == null || n.isNull()) {
                return env;
            }
            if (!n.isObject()) {
                problem("environment: expected an object of string values, got " + n.getNodeType().toString()
                        .toLowerCase());
                return env;
            }
            int bytes = 0;
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                String key = e.getKey();
                if (!ENV_KEY.matcher(key).matches()) {
                    problem("environment." + key + ": not a valid variable name; use a letter, then letters, "
                            + "digits or '_'");
                } else if (RESERVED_ENV.contains(key) || key.startsWith("AWS_LAMBDA_") || key.startsWith("BRAMBLE_")) {
                    problem("environment." + key + ": reserved for the runtime; AWS_LAMBDA_*, BRAMBLE_* and "
                            + new TreeSet<>(RESERVED_ENV) + " cannot be set");
                } else if (key.startsWith("LD_") || STARTUP_ENV.contains(key)) {
                    problem("environment." + key + ": changes how the loader or the JVM starts, so it is refused: "
                            + "LD_* and " + new TreeSet<>(STARTUP_ENV) + " cannot be set (JAVA_TOOL_OPTIONS can)");
                }
                if (!e.getValue().isTextual()) {
                    problem("environment." + key + ": expected a string, got " + e.getValue());
                    continue;
                }
                if (e.getValue().textValue().indexOf('\0') >= 0) {
                    problem("environment." + key + ": contains a NUL character, which no variable can hold");
                    continue;
                }
                bytes += (key + e.getValue().textValue()).getBytes(StandardCharsets.UTF_8).length;
                env.put(key, e.getValue().textValue());
            }
            if (bytes > MAX_ENVIRONMENT_BYTES) {
                problem("environment: " + bytes + " bytes of names and values; at most " + MAX_ENVIRONMENT_BYTES);
            }
            return env;
        }

        Manifest.Concurrency concurrency() {
            JsonNode n = root.get("concurrency");
            if (n == null || n.isNull()) {
                return Manifest.Concurrency.DEFAULT;
            }
            if (!n.isObject()) {
                problem("concurrency: expected an object such as {\"reserved\": 2}, got " + n);
                return Manifest.Concurrency.DEFAULT;
            }
            Optional<Integer> reserved = Optional.empty();
            int provisioned = 0;
            int perEnvironment = 1;
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                switch (e.getKey()) {
                    case "reserved" -> reserved = Optional.of(checkedInt("concurrency.reserved", e.getValue(), 1,
                            MAX_RESERVED, 1));
                    case "provisioned" -> provisioned = checkedInt("concurrency.provisioned", e.getValue(), 0,
                            MAX_RESERVED, 0);
                    case "perEnvironment" -> perEnvironment = checkedInt("concurrency.perEnvironment", e.getValue(), 1,
                            MAX_PER_ENVIRONMENT, 1);
                    default -> problem("concurrency." + e.getKey()
                            + ": unknown field; known: [reserved, provisioned, perEnvironment]");
                }
            }
            if (reserved.isPresent() && provisioned > reserved.get()) {
                problem("concurrency.provisioned: " + provisioned + " is more than concurrency.reserved ("
                        + reserved.get() + "); provisioned environments count against the reserved ones");
            }
            return new Manifest.Concurrency(reserved, provisioned, perEnvironment);
        }

        AsyncPolicy async() {
            JsonNode n = root.get("async");
            if (n == null || n.isNull()) {
                return AsyncPolicy.DEFAULT;
            }
            if (!n.isObject()) {
                problem("async: expected an object such as {\"maxRetries\": 1}, got " + n);
                return AsyncPolicy.DEFAULT;
            }
            int retries = AsyncPolicy.MAX_RETRIES;
            long age = AsyncPolicy.MAX_EVENT_AGE.toSeconds();
            Optional<String> onSuccess = Optional.empty();
            Optional<String> onFailure = Optional.empty();
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                switch (e.getKey()) {
                    case "maxRetries" -> retries = checkedInt("async.maxRetries", e.getValue(), 0,
                            AsyncPolicy.MAX_RETRIES, retries);
                    case "maxEventAgeSeconds" -> age = checkedInt("async.maxEventAgeSeconds", e.getValue(),
                            (int) AsyncPolicy.MIN_EVENT_AGE.toSeconds(), (int) AsyncPolicy.MAX_EVENT_AGE.toSeconds(),
                            (int) age);
                    case "onSuccess" -> onSuccess = destination("async.onSuccess", e.getValue());
                    case "onFailure" -> onFailure = destination("async.onFailure", e.getValue());
                    default -> problem("async." + e.getKey()
                            + ": unknown field; known: [maxRetries, maxEventAgeSeconds, onSuccess, onFailure]");
                }
            }
            return new AsyncPolicy(retries, java.time.Duration.ofSeconds(age), onSuccess, onFailure);
        }

        private Optional<String> destination(String field, JsonNode n) {
            if (!n.isObject() || n.size() != 1 || !n.has("mqttTopic") || !n.get("mqttTopic").isTextual()) {
                problem(field + ": expected {\"mqttTopic\": \"a/topic\"}, got " + n);
                return Optional.empty();
            }
            String topic = n.get("mqttTopic").textValue();
            String bad = Topics.nameProblem(topic);
            if (bad != null) {
                problem(field + ".mqttTopic: " + bad);
                return Optional.empty();
            }
            return Optional.of(topic);
        }

        List<String> testEvents() {
            JsonNode n = root.get("testEvents");
            List<String> out = new ArrayList<>();
            if (n == null || n.isNull()) {
                return out;
            }
            if (!n.isArray() || n.size() > MAX_TEST_EVENTS) {
                problem("testEvents: expected a list of at most " + MAX_TEST_EVENTS + " events (JSON values), got "
                        + (n.isArray() ? n.size() + " events" : n.getNodeType().toString().toLowerCase()));
                return out;
            }
            for (int i = 0; i < n.size(); i++) {
                String json = n.get(i).toString();
                if (json.length() > MAX_TEST_EVENT_BYTES) {
                    problem("testEvents[" + i + "]: " + json.length() + " bytes; at most " + MAX_TEST_EVENT_BYTES);
                }
                out.add(json);
            }
            return out;
        }

        List<String> invokes(String self) {
            JsonNode n = root.get("invokes");
            List<String> out = new ArrayList<>();
            if (n == null || n.isNull()) {
                return out;
            }
            if (!n.isArray() || n.size() > MAX_INVOKES) {
                problem("invokes: expected a list of at most " + MAX_INVOKES + " function names, got "
                        + (n.isArray() ? n.size() + " names" : n.getNodeType().toString().toLowerCase()));
                return out;
            }
            for (int i = 0; i < n.size(); i++) {
                JsonNode e = n.get(i);
                if (!e.isTextual() || !NAME.matcher(e.textValue()).matches()) {
                    problem("invokes[" + i + "]: " + e + " is not a function name; use 1 to 64 letters, digits, '-' "
                            + "or '_' (every version and alias of that function)");
                } else if (e.textValue().equals(self)) {
                    problem("invokes[" + i + "]: '" + self + "' is this function; a function may not invoke itself "
                            + "through the API (a loop without end)");
                } else if (!out.contains(e.textValue())) {
                    out.add(e.textValue());
                }
            }
            return out;
        }

        void unknownFields() {
            root.fieldNames().forEachRemaining(name -> {
                if (!FIELDS.contains(name)) {
                    problem(name + ": unknown field; known: " + FIELDS);
                }
            });
        }
    }
}
