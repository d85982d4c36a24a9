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
 */
public record FunctionState(String name, NavigableMap<Integer, FunctionVersion> versions, Map<String, Integer> aliases) {
    public FunctionState {
        versions = java.util.Collections.unmodifiableNavigableMap(new TreeMap<>(versions));
        aliases = Map.copyOf(aliases);
    }

    /** The newest version. */
    public FunctionVersion latest() {
        return versions.lastEntry().getValue();
    }
}
