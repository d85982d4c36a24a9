package dev.bramble.sandbox;

import java.nio.file.Path;

/**
 * How to contain processes on this machine.
 *
 * @param cgroupRoot       the cgroupfs mount, normally {@code /sys/fs/cgroup}
 * @param cgroupName       v1: the daemon's subtree under each controller; v2 uses the daemon's own (delegated) cgroup
 * @param bwrap            the bubblewrap executable, for private /tmp and a private view of the file system
 * @param setpriv          the setpriv executable, for unprivileged identities
 * @param nft              the nft executable, for keeping contained processes off the host's own listeners
 * @param uidFirst         the first uid contained processes run as
 * @param uidLast          the last uid contained processes run as
 * @param requireIsolation refuse to start unless every piece is available
 */
public record SandboxSettings(Path cgroupRoot, String cgroupName, Path bwrap, Path setpriv, Path nft, int uidFirst,
                              int uidLast, boolean requireIsolation) {
}
