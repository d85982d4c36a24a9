package dev.bramble.protocol;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A function's manifest, {@code function.json}, validated. Build one with {@link ManifestParser#parse}.
 *
 * @param name           the function's name: letters, digits, {@code -} and {@code _}, at most 64
 * @param runtime        the runtime, as {@link Runtime} spells it: {@code java21}, {@code provided}, {@code python3}
 *                       or {@code nodejs}
 * @param handler        {@code pkg.Class} or {@code pkg.Class::method} (java21), {@code module.function} (python3,
 *                       nodejs), or whatever the bundle's {@code bootstrap} reads from {@code _HANDLER} (provided)
 * @param memoryMb       memory limit of one environment, MB
 * @param timeoutSeconds the longest one invocation may run
 * @param tmpMb          size of the environment's private /tmp, MB
 * @param cpus           CPU share of one environment in cores (0.5 is half a core); empty derives it from memory
 * @param environment    the function's own environment variables
 * @param description    free text, at most 256 characters
 * @param concurrency    how many environments the function may use at once
 * @param triggers       what fires the function besides direct invocations
 * @param async          how asynchronous invocations are retried and where their outcome goes
 * @param testEvents     events (JSON) a device runs against a new version before it goes live; all must succeed
 * @param network        what network the function's environments have
 * @param invokes        the functions this one may invoke through the device's Invoke API, as Lambda's
 *                       {@code lambda:InvokeFunction} grant: its environments then get credentials to sign with
 */
public record Manifest(String name, String runtime, String handler, int memoryMb, int timeoutSeconds, int tmpMb,
                       Optional<Double> cpus, Map<String, String> environment, String description, Concurrency concurrency,
                       List<Trigger> triggers, AsyncPolicy async, List<String> testEvents, Network network,
                       List<String> invokes) {

    public Manifest {
        environment = Map.copyOf(environment);
        triggers = List.copyOf(triggers);
        testEvents = List.copyOf(testEvents);
        invokes = List.copyOf(invokes);
    }

    /** The runtime, typed. */
    public Runtime runtimeKind() {
        return Runtime.of(runtime).orElseThrow(() -> new IllegalStateException("runtime " + runtime));
    }

    /**
     * A function's runtime, {@code "runtime"} in function.json. {@code java21} runs Lambda's Java handlers in the
     * daemon's own Java runtime; the others speak Lambda's Runtime API, which the daemon serves to each environment.
     */
    public enum Runtime {
        /** A Lambda Java handler ({@code RequestHandler}, {@code RequestStreamHandler}), run by Bramble's runtime. */
        JAVA21("java21"),
        /** The bundle's own executable {@code bootstrap} at its top, as Lambda's {@code provided.al2023}. */
        PROVIDED("provided"),
        /** A Python handler {@code module.function}, run by the device's {@code python3} and Bramble's bootstrap. */
        PYTHON3("python3"),
        /** A Node.js handler {@code module.function}, run by the device's {@code node} and Bramble's bootstrap. */
        NODEJS("nodejs");

        private final String json;

        Runtime(String json) {
            this.json = json;
        }

        /** As function.json spells it. */
        public String json() {
            return json;
        }

        /** Whether its environments speak Lambda's Runtime API (all but {@code java21}). */
        public boolean runtimeApi() {
            return this != JAVA21;
        }

        static java.util.Optional<Runtime> of(String json) {
            for (Runtime r : values()) {
                if (r.json.equals(json)) {
                    return java.util.Optional.of(r);
                }
            }
            return java.util.Optional.empty();
        }

        /** Every runtime, as function.json spells them. */
        static List<String> names() {
            return java.util.Arrays.stream(values()).map(Runtime::json).toList();
        }
    }

    /** The handler's class name, without {@code ::method}. */
    public String handlerClass() {
        int sep = handler.indexOf("::");
        return sep < 0 ? handler : handler.substring(0, sep);
    }

    /** A function's network, {@code "network"} in function.json. */
    public enum Network {
        /** The device's network, outbound as any program has it, but never the daemon's own listeners. */
        OUTBOUND("outbound"),
        /** No network at all: a network namespace of its own, with only its own loopback. */
        NONE("none");

        private final String json;

        Network(String json) {
            this.json = json;
        }

        /** As function.json spells it. */
        public String json() {
            return json;
        }
    }

    /**
     * Concurrency settings.
     *
     * @param reserved    the most environments this function may run at once, and room the memory budget keeps for
     *                    them; empty means the daemon's default cap and no reservation
     * @param provisioned environments started at deployment and kept warm
     * @param perEnvironment invocations one environment runs at once (beyond Lambda: for thread-safe handlers)
     */
    public record Concurrency(Optional<Integer> reserved, int provisioned, int perEnvironment) {
        /** No settings: the daemon's defaults apply. */
        public static final Concurrency DEFAULT = new Concurrency(Optional.empty(), 0, 1);
    }
}
