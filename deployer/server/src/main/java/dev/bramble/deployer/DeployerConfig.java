package dev.bramble.deployer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * bramble-deployer's configuration (YAML), validated at start with every problem listed.
 *
 * @param dataDir          where the SQLite file and the generated admin token live
 * @param bind             listen address
 * @param port             listen port; 0 picks a free one
 * @param databaseUrl      {@code jdbc:sqlite:FILE} (default: deployer.db in the data directory) or
 *                         {@code jdbc:postgresql://HOST/DB}
 * @param databaseUser     PostgreSQL user, or empty
 * @param databasePassword PostgreSQL password, or empty
 * @param adminToken       the CLI's bearer token; empty: one is generated into {@code <data-dir>/admin.token}
 * @param bundleMaxBytes   the largest upload
 * @param longPollSeconds  how long a device's desired-state request may wait for a change
 * @param telemetryRetentionDays how long devices' log lines and metric snapshots are kept
 * @param tlsCertFile      the listener's certificate chain (PEM); with {@code tlsKeyFile}, the deployer speaks only
 *                         https; both empty: plain http
 * @param tlsKeyFile       its private key (PEM, PKCS#8)
 * @param metricsToken     a bearer token that reaches {@code GET /metrics} and nothing else, for Prometheus;
 *                         empty: /metrics takes the admin token only
 * @param rotateAfterDays  devices rotate a token older than this many days (0: only when the operator asks)
 * @param databasePool     the most connections this replica keeps to PostgreSQL
 */
record DeployerConfig(Path dataDir, String bind, int port, String databaseUrl, String databaseUser,
                      String databasePassword, String adminToken, long bundleMaxBytes, int longPollSeconds,
                      int telemetryRetentionDays, String tlsCertFile, String tlsKeyFile, String metricsToken,
                      int rotateAfterDays, int databasePool) {

    static final int DEFAULT_ROTATE_AFTER_DAYS = 90;

    private static final Set<String> KEYS = Set.of("data-dir", "http.bind", "http.port", "database.url",
            "database.user", "database.password", "admin.token", "bundles.max-bytes", "long-poll.max-seconds",
            "telemetry.retention-days", "tls.cert-file", "tls.key-file", "metrics.token", "tokens.rotate-after-days",
            "database.pool-size");

    static DeployerConfig load(Path file) {
        JsonNode root;
        try {
            root = file == null ? MissingNode.getInstance()
                    : new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read it as YAML: " + e.getMessage());
        }
        if (root == null) {
            root = MissingNode.getInstance();
        }
        List<String> problems = new ArrayList<>();
        unknown(root, "", problems);
        Path dataDir = Path.of(text(root, "data-dir", defaultDataDir().toString())).toAbsolutePath();
        String url = text(root, "database.url", "jdbc:sqlite:" + dataDir.resolve("deployer.db"));
        if (!url.startsWith("jdbc:sqlite:") && !url.startsWith("jdbc:postgresql:")) {
            problems.add("database.url: '" + url + "' is not allowed; use jdbc:sqlite:FILE or "
                    + "jdbc:postgresql://HOST[:PORT]/DATABASE");
        }
        String token = text(root, "admin.token", "");
        if (!token.isEmpty() && token.length() < 16) {
            problems.add("admin.token: " + token.length() + " characters is too short to be a secret; use at "
                    + "least 16, or leave it empty to have one generated");
        }
        DeployerConfig c = new DeployerConfig(dataDir, text(root, "http.bind", "127.0.0.1"),
                (int) number(root, "http.port", 8700, 0, 65_535, problems), url, text(root, "database.user", ""),
                text(root, "database.password", ""), token,
                number(root, "bundles.max-bytes", 64L << 20, 1024, 4L << 30, problems),
                (int) number(root, "long-poll.max-seconds", 30, 1, 300, problems),
                (int) number(root, "telemetry.retention-days", 14, 1, 3650, problems),
                text(root, "tls.cert-file", ""), text(root, "tls.key-file", ""), text(root, "metrics.token", ""),
                (int) number(root, "tokens.rotate-after-days", DEFAULT_ROTATE_AFTER_DAYS, 0, 3650, problems),
                (int) number(root, "database.pool-size", Database.DEFAULT_POOL, 1, 500, problems));
        if (!c.metricsToken().isEmpty() && c.metricsToken().length() < 16) {
            problems.add("metrics.token: " + c.metricsToken().length() + " characters is too short to be a secret; "
                    + "use at least 16, or leave it empty (then /metrics takes the admin token)");
        }
        if (!c.metricsToken().isEmpty() && c.metricsToken().equals(token)) {
            problems.add("metrics.token: the same as admin.token; give Prometheus a token of its own");
        }
        if (c.tlsCertFile().isEmpty() != c.tlsKeyFile().isEmpty()) {
            problems.add("tls.cert-file and tls.key-file go together: give both (PEM) for https, or neither");
        }
        for (String f : new String[]{c.tlsCertFile(), c.tlsKeyFile()}) {
            if (!f.isEmpty() && !Files.isReadable(Path.of(f))) {
                problems.add((f.equals(c.tlsCertFile()) ? "tls.cert-file" : "tls.key-file") + ": '" + f
                        + "' is not a readable file");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException((file == null ? "configuration" : file.toString()) + ": "
                    + String.join("; ", problems));
        }
        return c;
    }

    private static JsonNode node(JsonNode root, String key) {
        JsonNode n = root;
        for (String part : key.split("\\.")) {
            n = n.path(part);
        }
        return n.isMissingNode() || n.isNull() ? null : n;
    }

    private static String text(JsonNode root, String key, String dflt) {
        JsonNode n = node(root, key);
        return n == null ? dflt : n.asText();
    }

    private static long number(JsonNode root, String key, long dflt, long min, long max, List<String> problems) {
        JsonNode n = node(root, key);
        if (n == null) {
            return dflt;
        }
        if (!n.canConvertToExactIntegral() || n.asLong() < min || n.asLong() > max) {
            problems.add(key + ": expected a whole number from " + min + " to " + max + ", got " + n);
            return dflt;
        }
        return n.asLong();
    }

    private static void unknown(JsonNode node, String prefix, List<String> problems) {
        if (!node.isObject()) {
            return;
        }
        node.properties().forEach(e -> {
            String key = prefix + e.getKey();
            if (e.getValue().isObject() && !KEYS.contains(key)) {
                unknown(e.getValue(), key + ".", problems);
            } else if (!KEYS.contains(key)) {
                problems.add(key + ": unknown key; known keys: " + new java.util.TreeSet<>(KEYS));
            }
        });
    }

    private static Path defaultDataDir() {
        String state = System.getenv("XDG_STATE_HOME");
        Path base = state == null || state.isBlank() ? Path.of(System.getProperty("user.home"), ".local", "state")
                : Path.of(state);
        return base.resolve("bramble-deployer");
    }
}
