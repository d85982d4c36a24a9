package dev.bramble.deployer;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server for the tests: initdb into a fresh directory, started on a free loopback port, stopped
 * and deleted at the end. As root it runs as the {@code postgres} account (PostgreSQL refuses root). Fails with a
 * clear message when PostgreSQL is not installed: .ci/run installs it.
 */
final class Postgres implements AutoCloseable {
    private final Path dir;
    private final Path bin;
    private final int port;
    private final List<String> asUser;

    private Postgres(Path dir, Path bin, int port, List<String> asUser) {
        this.dir = dir;
        this.bin = bin;
        this.port = port;
        this.asUser = asUser;
    }

    static Postgres start() throws Exception {
        Path bin;
        try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
            bin = versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
                    .max(Comparator.naturalOrder()).orElseThrow();
        } catch (IOException | java.util.NoSuchElementException e) {
            throw new IllegalStateException("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); "
                    + "scripts/test installs it: apt-get install postgresql");
        }
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "bramble-pg-");
        List<String> asUser = new ArrayList<>();
        if (root) {
            run(List.of("chown", "postgres:postgres", dir.toString()), List.of());
            asUser = List.of("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups");
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Postgres pg = new Postgres(dir, bin, port, asUser);
        run(List.of(bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-U", "bramble",
                "--auth=trust", "-E", "UTF8"), asUser);
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-w", "-l",
                dir.resolve("log").toString(), "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 "
                        + "-c fsync=off", "start"), asUser);
        run(List.of(bin.resolve("createdb").toString(), "-h", "127.0.0.1", "-p", Integer.toString(port), "-U",
                "bramble", "deployer"), asUser);
        return pg;
    }

    String url() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/deployer";
    }

    private static void run(List<String> command, List<String> prefix) throws Exception {
        List<String> all = new ArrayList<>(prefix);
        all.addAll(command);
        Process p = new ProcessBuilder(all).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", all) + " failed: " + out);
        }
    }

    @Override
    public void close() throws Exception {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate",
                "stop"), asUser);
        run(List.of("rm", "-rf", dir.toString()), List.of());
    }
}
