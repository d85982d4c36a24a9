package dev.bramble.cli;

import java.util.Map;

/**
 * Subcommands another Bramble jar adds to {@code bramble} when it is on the classpath, found with
 * {@link java.util.ServiceLoader}: brambled's jar adds {@code bramble local}, which runs the daemon's own code
 * in-process. The CLI itself does not depend on the daemon.
 */
public interface Subcommands {
    /** Picocli command objects by name. */
    Map<String, Object> subcommands();
}
