package dev.bramble.daemon.local;

import dev.bramble.cli.Subcommands;

import java.util.Map;

/** Adds {@code bramble local} to the CLI when brambled's jar is beside it. */
public final class LocalSubcommands implements Subcommands {
    @Override
    public Map<String, Object> subcommands() {
        return Map.of("local", new LocalCommand());
    }
}
