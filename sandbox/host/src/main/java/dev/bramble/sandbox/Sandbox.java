package dev.bramble.sandbox;

import java.io.IOException;
import java.util.List;

/** Launches contained child processes. */
public interface Sandbox extends AutoCloseable {

    /** A sandbox that contains nothing; {@link #isolation()} says so. For tests and laptops. */
    static Sandbox unconfined() {
        return LinuxSandbox.unconfined();
    }

    /**
     * The best containment this machine allows: cgroups (v1 or v2), a private tmpfs /tmp through bubblewrap,
     * and separate unprivileged identities through setpriv, each where possible. Cleans up what a previous run
     * left in the daemon's cgroup subtree.
     *
     * @throws SandboxException {@code ISOLATION_UNAVAILABLE} when {@code settings.requireIsolation()} and a piece is
     *                          missing
     */
    static Sandbox create(SandboxSettings settings) {
        return LinuxSandbox.create(settings);
    }

    /**
     * Starts a process in its containment.
     *
     * @throws IOException      when it cannot be started; nothing is left behind
     * @throws SandboxException when its containment cannot be set up; nothing is left behind
     */
    ContainedProcess launch(LaunchSpec spec) throws IOException;

    /** What containment is in force. */
    Isolation isolation();

    /** Whether processes get a private /tmp (then their /tmp is {@code /tmp}, else {@link LaunchSpec#hostTmp()}). */
    boolean privateTmp();

    /** Whether processes run as the identity in their {@link LaunchSpec}. */
    boolean separateIdentities();

    /**
     * Keeps every contained process off these listeners of the host's (the daemon's own ports), on every local
     * address, while the rest of the network stays as {@link LaunchSpec#network()} says. Replaces what an earlier
     * call shut out. Without the means (no nft, no root) {@link #isolation()} names it as missing and this does
     * nothing.
     *
     * @throws SandboxException {@code FIREWALL_FAILED} when the rules cannot be installed
     */
    void shutOut(List<Listener> listeners);

    /**
     * A listening port of the host.
     *
     * @param protocol {@code tcp} or {@code udp}
     * @param port     the port
     */
    record Listener(String protocol, int port) {
        public Listener {
            if (!protocol.equals("tcp") && !protocol.equals("udp")) {
                throw new IllegalArgumentException("protocol '" + protocol + "': tcp or udp");
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port " + port + ": 1..65535");
            }
        }
    }

    /** Stops the sandbox's own threads. Processes are stopped by their owners. */
    @Override
    void close();

    /**
     * The containment in force.
     *
     * @param mode    {@code full} or {@code degraded}
     * @param cgroups {@code v1}, {@code v2} or {@code none}
     * @param missing what is not enforced, by name ({@code cgroups}, {@code tmpfs}, {@code identity},
     *                {@code freezer}, {@code network}), each with why
     */
    record Isolation(String mode, String cgroups, List<String> missing) {
        public Isolation {
            missing = List.copyOf(missing);
        }
    }
}
