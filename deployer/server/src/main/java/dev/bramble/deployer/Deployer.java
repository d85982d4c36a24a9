package dev.bramble.deployer;

import dev.bramble.protocol.Bundle;
import dev.bramble.console.Console;
import io.helidon.common.configurable.Resource;
import io.helidon.common.pki.Keys;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;

/** bramble-deployer's composition root: configuration, database, fleet, HTTP. */
public final class Deployer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Deployer.class.getName());

    private final WebServer server;
    private final Telemetry telemetry;
    private final Fleet fleet;
    private final Database db;

    private Deployer(WebServer server, Telemetry telemetry, Fleet fleet, Database db) {
        this.server = server;
        this.telemetry = telemetry;
        this.fleet = fleet;
        this.db = db;
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
        Database db = Database.open(config.databaseUrl(), config.databaseUser(), config.databasePassword(),
                config.databasePool());
        Bundle.Limits limits = new Bundle.Limits(config.bundleMaxBytes(), Bundle.Limits.DEFAULT.maxEntries(),
                Bundle.Limits.DEFAULT.maxUnpackedBytes(), Bundle.Limits.DEFAULT.maxCompressionRatio());
        Fleet fleet = Fleet.open(db, clock, limits, Duration.ofDays(config.rotateAfterDays())).start();
        Telemetry telemetry = new Telemetry(db, clock, Duration.ofDays(config.telemetryRetentionDays())).start();
        // A device counts as online while it polled within a long-poll and 15 s: the agent asks again at once.
        FleetMetrics metrics = new FleetMetrics(db, telemetry, (config.longPollSeconds() + 15) * 1000L, clock);
        DeployerApi api = new DeployerApi(fleet, telemetry, metrics, config, adminToken);
        Keys tls = tlsKeys(config);
        WebServer server;
        try {
            WebServerConfig.Builder builder = WebServer.builder().host(config.bind()).port(config.port());
            if (tls != null) {
                builder.tls(t -> t.privateKey(tls.privateKey().orElseThrow()).privateKeyCertChain(tls.certChain()));
            }
            server = builder
                    .contentEncoding(e -> e.addContentEncoding(new GzipRequests()))
                    .routing(r -> {
                        api.register(r);
                        Console.register(r, "dev/bramble/deployer/console");
                    }).build().start();
        } catch (RuntimeException e) {
            telemetry.close();
            fleet.close();
            db.close();
            throw new IllegalStateException("http.bind/http.port: cannot listen on " + config.bind() + ":"
                    + config.port() + ": " + e.getMessage(), e);
        }
        if (!server.isRunning() || server.port() < 0) {
            // Helidon logs a failed bind and runs on without the listener: a deployer nobody can reach
            server.stop();
            telemetry.close();
            fleet.close();
            db.close();
            throw new IllegalStateException("http.bind/http.port: cannot listen on " + config.bind() + ":"
                    + config.port() + " (the port is taken, or the address is not one of this host's)");
        }
        LOG.log(Level.INFO, "deployer.ready " + (config.tlsCertFile().isEmpty() ? "http" : "https")
                + "={0}:{1} database={2}", config.bind(),
                Integer.toString(server.port()), db.sqlite() ? config.databaseUrl() : "postgresql");
        return new Deployer(server, telemetry, fleet, db);
    }

    /** The listener's key and certificate chain from tls.key-file and tls.cert-file, or null for plain http. */
    private static Keys tlsKeys(DeployerConfig config) {
        if (config.tlsCertFile().isEmpty()) {
            return null;
        }
        Keys keys;
        try {
            keys = Keys.builder().pem(pem -> pem.key(Resource.create(Path.of(config.tlsKeyFile())))
                    .certChain(Resource.create(Path.of(config.tlsCertFile())))).build();
        } catch (RuntimeException e) {
            throw new IllegalStateException("tls.cert-file/tls.key-file: cannot read " + config.tlsCertFile() + " and "
                    + config.tlsKeyFile() + " as a PEM certificate chain and PKCS#8 key: " + e.getMessage(), e);
        }
        if (keys.privateKey().isEmpty() || keys.certChain().isEmpty()) {
            throw new IllegalStateException("tls.cert-file/tls.key-file: " + (keys.privateKey().isEmpty()
                    ? config.tlsKeyFile() + " holds no PEM private key" : config.tlsCertFile() + " holds no PEM "
                    + "certificate"));
        }
        return keys;
    }

    /** The configured token, or one generated once into {@code <data-dir>/admin.token} (0600). */
    private static String adminToken(DeployerConfig config) {
        if (!config.adminToken().isEmpty()) {
            return config.adminToken();
        }
        Path file = config.dataDir().resolve("admin.token");
        boolean generated = !Files.exists(file);
        String token = dev.bramble.protocol.PrivateFiles.token(file, "admin");
        if (generated) {
            LOG.log(Level.INFO, "deployer.admin-token-generated file={0}", file);
        }
        return token;
    }

    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        if (server.isRunning()) {
            server.stop();
        }
        fleet.close();
        telemetry.close();
        db.close();
    }
}
