package dev.bramble.protocol;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A function's manifest, {@code function.json}, validated. Build one with {@link ManifestParser#parse}.
 *
 * @param name           the function's name: letters, digits, {@code -} and {@code _}, at most 64
 * @param runtime        the runtime; {@code java21} is the only one
 * @param handler        {@code pkg.Class} or {@code pkg.Class::method}
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
