package dev.bramble.daemon.function;

import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * A function as the registry knows it: its versions and aliases. Immutable; the registry swaps in a new one
 * on every change.
 *
 * @param name     the function's name
 * @param versions every version, by number
 * @param aliases  alias name to version number
 * @param routing  alias name to the one more version it sends a share of its invocations to, for the aliases
 *                 that have one
 */
public record FunctionState(String name, NavigableMap<Integer, FunctionVersion> versions, Map<String, Integer> aliases,
                            Map<String, Routing> routing) {
    public FunctionState {
        versions = java.util.Collections.unmodifiableNavigableMap(new TreeMap<>(versions));
        aliases = Map.copyOf(aliases);
        routing = Map.copyOf(routing);
    }

    /** A function whose aliases send everything to the version they name. */
    public FunctionState(String name, NavigableMap<Integer, FunctionVersion> versions, Map<String, Integer> aliases) {
        this(name, versions, aliases, Map.of());
    }

    /** The newest version. */
    public FunctionVersion latest() {
        return versions.lastEntry().getValue();
    }

    /** Whether an alias points at {@code version}, or sends it a share. */
    public boolean referenced(int version) {
        return aliases.containsValue(version) || routing.values().stream().anyMatch(r -> r.version() == version);
    }

    /**
     * Lambda's {@code RoutingConfig}: the alias sends {@code weight} of its invocations to {@code version} and the
     * rest to the version it names.
     *
     * @param version the additional version
     * @param weight  its share, above 0 and below 1
     */
    public record Routing(int version, double weight) {
        /** Whether {@code weight} is a share Lambda accepts: 0.0 to 1.0. */
        public static boolean allowed(double weight) {
            return weight >= 0 && weight <= 1;
        }
    }
}
