package dev.bramble.daemon;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/** Debian's nginx on a free loopback port serving a directory: a stock HTTP origin, as a CDN or a bucket is. */
final class Nginx implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final Process process;

    private Nginx(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    static Nginx serve(Path dir, Path root) {
        try {
            Files.createDirectories(dir);
            int port = Mosquitto.freePort();
            Files.writeString(dir.resolve("nginx.conf"), """
                    daemon off;
                    user root;
                    worker_processes 1;
                    pid %1$s/nginx.pid;
                    error_log %1$s/error.log warn;
                    events { worker_connections 64; }
                    http {
                        access_log %1$s/access.log;
                        client_body_temp_path %1$s/body;
                        proxy_temp_path %1$s/proxy;
                        fastcgi_temp_path %1$s/fastcgi;
                        uwsgi_temp_path %1$s/uwsgi;
                        scgi_temp_path %1$s/scgi;
                        default_type application/zip;
                        server {
                            listen 127.0.0.1:%2$d;
                            root %3$s;
                        }
                    }
                    """.formatted(dir, port, root));
            Path nginx = Path.of("/usr/sbin/nginx");
            if (!Files.isExecutable(nginx)) {
                throw new IllegalStateException("nginx is not installed (/usr/sbin/nginx); install Debian's nginx, "
                        + "as scripts/test does");
            }
            Process p = new ProcessBuilder(nginx.toString(), "-p", dir.toString(), "-c", dir.resolve("nginx.conf")
                    .toString()).redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
            Nginx n = new Nginx(dir, port, p);
            await("nginx on port " + port).atMost(10, TimeUnit.SECONDS).until(() -> {
                if (!p.isAlive()) {
                    throw new AssertionError("nginx exited: " + Files.readString(dir.resolve("stdout.log"))
                            + (Files.exists(dir.resolve("error.log")) ? Files.readString(dir.resolve("error.log"))
                            : ""));
                }
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    return true;
                } catch (IOException e) {
                    return false;
                }
            });
            return n;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    /** What nginx has served, one request per line. */
    String accessLog() {
        try {
            return Files.exists(dir.resolve("access.log")) ? Files.readString(dir.resolve("access.log")) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        process.destroy(); // SIGTERM: nginx's fast shutdown
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
