package dev.bramble.daemon.function;

/**
 * The outcome of a local deployment.
 *
 * @param function the function's name
 * @param version  the version the alias now points at
 * @param sha256   the bundle's digest
 * @param alias    the alias that was moved
 * @param created  false when the bundle was identical to the newest version, which was reused
 */
public record Deployment(String function, int version, String sha256, String alias, boolean created) {
}
