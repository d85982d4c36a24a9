package dev.bramble.deployer;

import dev.bramble.protocol.Bundle;
import io.helidon.webserver.WebServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;

/** bramble-deployer's composition root: configuration, database, fleet, HTTP. */
public final class Deployer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Deployer.class.getName());

    private final WebServer server;

    private Deployer(WebServer server) {
        this.server = server;
    }

    /** Starts a deployer from a configuration file. */
    public static Deployer start(Path configFile) {
        return start(DeployerConfig.load(configFile), Clock.systemUTC());
    }

    static Deployer start(DeployerConfig config, Clock clock) {
        try {
            Files.createDirectories(config.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + config.dataDir(), e);
        }
        String adminToken = adminToken(config);
        Database db = Database.open(config.databaseUrl(), config.databaseUser(), config.databasePassword());
        Bundle.Limits limits = new Bundle.Limits(config.bundleMaxBytes(), Bundle.Limits.DEFAULT.maxEntries(),
                Bundle.Limits.DEFAULT.maxUnpackedBytes(), Bundle.Limits.DEFAULT.maxCompressionRatio());
        Fleet fleet = new Fleet(db, clock, limits);
        DeployerApi api = new DeployerApi(fleet, config, adminToken);
        WebServer server = WebServer.builder().host(config.bind()).port(config.port())
                .routing(api::register).build().start();
        LOG.log(Level.INFO, "deployer.ready http={0}:{1} database={2}", config.bind(),
                Integer.toString(server.port()), db.sqlite() ? config.databaseUrl() : "postgresql");
        return new Deployer(server);
    }

    /** The configured token, or one generated once into {@code <data-dir>/admin.token} (0600). */
    private static String adminToken(DeployerConfig config) {
        if (!config.adminToken().isEmpty()) {
            return config.adminToken();
        }
        Path file = config.dataDir().resolve("admin.token");
        try {
            if (!Files.exists(file)) {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                        "rw-------")));
                Files.writeString(file, Tokens.create("admin") + "\n");
                LOG.log(Level.INFO, "deployer.admin-token-generated file={0}", file);
            }
            return Files.readString(file).trim();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or write " + file, e);
        }
    }

    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        if (server.isRunning()) {
            server.stop();
        }
    }
}
