package dev.bramble.deployer;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's HAProxy running the configuration the deployer ships (packaging/deployer/haproxy.cfg), with the test's
 * certificate, ports and replicas put in: what an operator deploys is what the tests run. Fails with a clear
 * message when HAProxy is not installed: scripts/test installs it.
 */
final class Haproxy implements AutoCloseable {
    static final Path SHIPPED = Path.of("../../packaging/deployer/haproxy.cfg");

    private final Process process;
    final int tlsPort;
    final int plainPort;
    final Path log;

    private Haproxy(Process process, int tlsPort, int plainPort, Path log) {
        this.process = process;
        this.tlsPort = tlsPort;
        this.plainPort = plainPort;
        this.log = log;
    }

    /**
     * Starts HAProxy with the shipped configuration: TLS on one port with {@code pem} (chain and key), plain
     * HTTP/1.1 on another (as on a private network), and a server line per replica port.
     */
    static Haproxy start(Path dir, Path pem, List<Integer> replicas) throws Exception {
        String shipped = Files.readString(SHIPPED);
        int tls = freePort();
        int plain = freePort();
        StringBuilder servers = new StringBuilder();
        for (int i = 0; i < replicas.size(); i++) {
            servers.append("    server replica-").append(i + 1).append(" 127.0.0.1:").append(replicas.get(i))
                    .append(" proto h2 check inter 200ms fall 2 rise 2\n");
        }
        String cfg = shipped
                .replace("bind :8700 ssl crt /etc/haproxy/bramble-deployer.pem", "bind 127.0.0.1:" + tls + " ssl crt "
                        + pem)
                .replaceAll("(?m)^    server replica-.*\n", "");
        if (cfg.equals(shipped) || !cfg.contains("ssl crt " + pem)) {
            throw new IllegalStateException(SHIPPED + " no longer has the bind and server lines this test rewrites");
        }
        cfg = cfg.replace("    default_backend deployers\n", "    default_backend deployers\n"
                + "frontend private\n    bind 127.0.0.1:" + plain + "\n"
                + "    http-request del-header upgrade\n    http-request del-header http2-settings\n"
                + "    http-request del-header connection\n    default_backend deployers\n") + servers;
        Path file = dir.resolve("haproxy.cfg");
        Files.writeString(file, cfg);
        Path log = dir.resolve("haproxy.log");
        Process p;
        try {
            p = new ProcessBuilder("haproxy", "-db", "-f", file.toString()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new IllegalStateException("HAProxy is not installed; scripts/test installs it: apt-get install "
                    + "haproxy", e);
        }
        Thread.sleep(200);
        if (!p.isAlive()) {
            throw new IllegalStateException("haproxy exited: " + Files.readString(log));
        }
        return new Haproxy(p, tls, plain, log);
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
