package dev.bramble.sandbox;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Keeps contained processes away from the host's own listeners (the daemon's HTTP and CoAP ports) while leaving
 * them the rest of the network: an nftables table of the daemon's own, whose output chain rejects packets that a
 * contained uid sends to any local address on those ports. One table per daemon, named after its cgroup subtree,
 * replaced atomically (one {@code nft -f} transaction) and deleted at stop.
 */
final class Firewall {
    private final Path nft;
    private final String table;
    private final int uidFirst;
    private final int uidLast;

    /**
     * @param nft      the nft executable
     * @param name     what makes the table this daemon's (its cgroup subtree)
     * @param uidFirst the first uid contained processes run as
     * @param uidLast  the last
     */
    Firewall(Path nft, String name, int uidFirst, int uidLast) {
        this.nft = nft;
        this.table = "bramble_" + name.replaceAll("[^A-Za-z0-9_]", "_");
        this.uidFirst = uidFirst;
        this.uidLast = uidLast;
    }

    String table() {
        return table;
    }

    /**
     * The nft script that makes the table hold exactly these rules. Pure: a test reads it. {@code add table} before
     * {@code delete table} makes the delete succeed whether or not a previous run left the table.
     */
    String script(List<Sandbox.Listener> listeners) {
        StringBuilder sb = new StringBuilder();
        sb.append("add table inet ").append(table).append('\n');
        sb.append("delete table inet ").append(table).append('\n');
        sb.append("table inet ").append(table).append(" {\n");
        sb.append("  chain output {\n");
        sb.append("    type filter hook output priority filter; policy accept;\n");
        for (String protocol : List.of("tcp", "udp")) {
            String ports = listeners.stream().filter(l -> l.protocol().equals(protocol))
                    .map(l -> Integer.toString(l.port())).distinct().collect(Collectors.joining(", "));
            if (ports.isEmpty()) {
                continue;
            }
            sb.append("    meta skuid ").append(uidFirst).append('-').append(uidLast)
                    .append(" fib daddr type local ").append(protocol).append(" dport { ").append(ports)
                    .append(" } ").append(protocol.equals("tcp") ? "reject with tcp reset" : "reject").append('\n');
        }
        sb.append("  }\n}\n");
        return sb.toString();
    }

    /** Installs the rules, replacing any this table held. */
    void apply(List<Sandbox.Listener> listeners) {
        run(script(listeners), "cannot install the rules that keep functions off " + listeners);
    }

    /** Removes the table. Idempotent. */
    void remove() {
        run("add table inet " + table + "\ndelete table inet " + table + "\n", "cannot remove table " + table);
    }

    private void run(String script, String what) {
        try {
            Process p = new ProcessBuilder(nft.toString(), "-f", "-").redirectErrorStream(true).start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(script.getBytes(StandardCharsets.UTF_8));
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new SandboxException(SandboxException.Code.FIREWALL_FAILED, what + ": nft said: " + out,
                        null);
            }
        } catch (IOException e) {
            throw new SandboxException(SandboxException.Code.FIREWALL_FAILED, what + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Code.FIREWALL_FAILED, what + ": interrupted", e);
        }
    }
}
