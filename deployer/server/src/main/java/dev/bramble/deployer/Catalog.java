package dev.bramble.deployer;

import dev.bramble.protocol.Bundle;
import dev.bramble.protocol.BundleException;
import dev.bramble.protocol.Signing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static dev.bramble.deployer.Sql.number;
import static dev.bramble.deployer.Sql.prepare;
import static dev.bramble.deployer.Sql.row;
import static dev.bramble.deployer.Sql.rows;
import static dev.bramble.deployer.Sql.update;

/** What may be deployed: the signers whose keys the deployer accepts, signed versions of functions, and aliases. */
final class Catalog {
    private static final System.Logger LOG = System.getLogger(Catalog.class.getName());

    private final Database db;
    private final Clock clock;
    private final Bundle.Limits limits;

    Catalog(Database db, Clock clock, Bundle.Limits limits) {
        this.db = db;
        this.clock = clock;
        this.limits = limits;
    }

    private long now() {
        return clock.millis();
    }

    /** Registers (or renames) a signer by its public key; returns the key id. */
    String addSigner(String name, String pem) {
        Sql.checkName("name", name);
        PublicKey key;
        try {
            key = Signing.publicKey(pem == null ? "" : pem, "publicKey");
        } catch (IOException e) {
            throw ApiError.badRequest(e.getMessage());
        }
        String id = Signing.keyId(key);
        db.tx(c -> {
            if (update(c, "UPDATE signers SET name = ? WHERE key_id = ?", name, id) == 0) {
                update(c, "INSERT INTO signers (key_id, name, public_key, created_at) VALUES (?, ?, ?, ?)", id, name,
                        Signing.pem(key), now());
            }
            return null;
        });
        LOG.log(Level.INFO, "signer.registered key_id={0} name={1}", id, name);
        return id;
    }

    Map<String, PublicKey> signers() {
        return db.read(c -> {
            Map<String, PublicKey> out = new TreeMap<>();
            for (Map<String, Object> r : rows(c, "SELECT key_id, public_key FROM signers")) {
                try {
                    out.put((String) r.get("key_id"), Signing.publicKey((String) r.get("public_key"), "signers"));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return out;
        });
    }

    // --- versions -------------------------------------------------------------------------------------------------

    record Published(String function, int version, String sha256, String keyId, boolean created) {
    }

    /**
     * A bundle origin as given by the operator, checked: an absolute http(s) URL of at most 2048 characters without
     * credentials (every device would be handed them). Null or empty: none.
     */
    static String origin(String url) {
        if (url == null || url.isEmpty()) {
            return null;
        }
        java.net.URI u;
        try {
            u = new java.net.URI(url);
        } catch (java.net.URISyntaxException e) {
            throw ApiError.badRequest("bundle URL '" + url + "' is not a URL: " + e.getReason());
        }
        if (url.length() > 2048 || !("https".equals(u.getScheme()) || "http".equals(u.getScheme()))
                || u.getHost() == null) {
            throw ApiError.badRequest("bundle URL '" + (url.length() > 100 ? url.substring(0, 100) + "…" : url)
                    + "' is not allowed; use an absolute http:// or https:// URL of at most 2048 characters");
        }
        if (u.getRawUserInfo() != null) {
            throw ApiError.badRequest("bundle URL: credentials in the URL would be handed to every device; use a "
                    + "URL anyone may read (digest and signature protect the bundle) or a pre-signed one");
        }
        return url;
    }

    /**
     * Publishes a signed bundle as its function's next version (or returns the newest version when it is the same
     * bundle).
     *
     * @throws BundleException            when the bundle is not acceptable
     * @throws dev.bramble.protocol.SignatureException when the signature is missing, unknown or wrong
     */
    Published publish(Path zip, String signatureJson) {
        return publish(zip, signatureJson, null);
    }

    /**
     * The same, with the URL devices fetch the bundle from instead of the deployer (null: the deployer). Publishing
     * the newest version's bundle again with a URL sets that version's URL: upload to the CDN after publishing.
     */
    Published publish(Path zip, String signatureJson, String origin) {
        String url = origin(origin);
        Bundle bundle = Bundle.open(zip, limits);
        if (signatureJson == null || signatureJson.isBlank()) {
            throw new dev.bramble.protocol.SignatureException(dev.bramble.protocol.SignatureException.Code.MISSING,
                    "the upload has no signature; sign the bundle (bramble bundle sign) and send the signature in "
                            + "X-Bramble-Signature");
        }
        Signing.BundleSignature sig = Signing.BundleSignature.parse(signatureJson);
        Signing.verify(bundle.sha256(), sig, signers());
        String name = bundle.manifest().name();
        byte[] content;
        try {
            content = Files.readAllBytes(bundle.path());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Published p = db.tx(c -> {
            Optional<Map<String, Object>> latest = row(c, "SELECT version, sha256 FROM versions WHERE function = ? "
                    + "ORDER BY version DESC LIMIT 1", name);
            if (latest.isPresent() && latest.get().get("sha256").equals(bundle.sha256())) {
                if (url != null) {
                    update(c, "UPDATE versions SET url = ? WHERE function = ? AND version = ?", url, name,
                            number(latest.get().get("version")));
                }
                return new Published(name, (int) number(latest.get().get("version")), bundle.sha256(), sig.keyId(),
                        false);
            }
            if (row(c, "SELECT sha256 FROM bundles WHERE sha256 = ?", bundle.sha256()).isEmpty()) {
                try (PreparedStatement s = c.prepareStatement("INSERT INTO bundles (sha256, size, content, created_at) "
                        + "VALUES (?, ?, ?, ?)")) {
                    s.setString(1, bundle.sha256());
                    s.setLong(2, content.length);
                    s.setBytes(3, content);
                    s.setLong(4, now());
                    s.executeUpdate();
                }
            }
            int version = latest.map(r -> (int) number(r.get("version")) + 1).orElse(1);
            update(c, "INSERT INTO versions (function, version, sha256, signature, key_id, manifest, created_at, "
                    + "url) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", name, version, bundle.sha256(), sig.toJson(), sig.keyId(),
                    new String(bundle.manifestJson(), java.nio.charset.StandardCharsets.UTF_8), now(), url);
            return new Published(name, version, bundle.sha256(), sig.keyId(), true);
        });
        LOG.log(Level.INFO, "version.published function={0} version={1} sha256={2} key_id={3}", p.function(),
                p.version(), p.sha256(), p.keyId());
        return p;
    }

    List<Map<String, Object>> functions() {
        return db.read(c -> rows(c, "SELECT function AS name, MAX(version) AS latest, COUNT(*) AS versions FROM versions "
                + "GROUP BY function ORDER BY function"));
    }

    List<Map<String, Object>> versions(String function) {
        List<Map<String, Object>> v = db.read(c -> rows(c, "SELECT version, sha256, key_id AS \"keyId\", url, "
                + "created_at AS \"createdAt\" FROM versions WHERE function = ? ORDER BY version", function));
        if (v.isEmpty()) {
            throw ApiError.notFound("function '" + function + "' has no published versions");
        }
        return v;
    }

    /** Points a function's alias (e.g. {@code stable}) at one of its versions; deployments may name it. */
    Map<String, Object> setAlias(String function, String alias, int version) {
        if (alias == null || !Sql.NAME.matcher(alias).matches() || alias.matches("[0-9]+") || alias.equals("latest")) {
            throw ApiError.badRequest("alias '" + alias + "' is not allowed; use 1 to 64 letters, digits, '.', '-' or "
                    + "'_', not only digits, not 'latest'");
        }
        db.tx(c -> {
            if (row(c, "SELECT version FROM versions WHERE function = ? AND version = ?", function, version).isEmpty()) {
                throw ApiError.notFound("no version " + version + " of function '" + function + "'");
            }
            if (update(c, "UPDATE aliases SET version = ? WHERE function = ? AND name = ?", version, function,
                    alias) == 0) {
                update(c, "INSERT INTO aliases (function, name, version) VALUES (?, ?, ?)", function, alias, version);
            }
            return null;
        });
        return Map.of("function", function, "alias", alias, "version", version);
    }

    List<Map<String, Object>> aliases(String function) {
        return db.read(c -> rows(c, "SELECT name, version FROM aliases WHERE function = ? ORDER BY name", function));
    }

    /**
     * Bundles read lately, kept in memory up to {@link #CACHE_BYTES}: a bundle is immutable and named by its
     * digest, and a rollout has every device of the fleet ask for the same one within seconds.
     */
    private final Map<String, byte[]> cache = new java.util.LinkedHashMap<>(16, 0.75f, true);
    private long cachedBytes;
    static final long CACHE_BYTES = 32L << 20;

    /** A bundle's bytes (the caller must not change them). */
    byte[] bundle(String sha256) {
        synchronized (cache) {
            byte[] hit = cache.get(sha256);
            if (hit != null) {
                return hit;
            }
        }
        byte[] b = read(sha256);
        if (b.length <= CACHE_BYTES / 4) {
            synchronized (cache) {
                if (cache.put(sha256, b) == null) {
                    cachedBytes += b.length;
                }
                for (var it = cache.values().iterator(); cachedBytes > CACHE_BYTES && it.hasNext(); ) {
                    cachedBytes -= it.next().length;
                    it.remove();
                }
            }
        }
        return b;
    }

    private byte[] read(String sha256) {
        return db.read(c -> {
            try (PreparedStatement s = prepare(c, "SELECT content FROM bundles WHERE sha256 = ?", sha256);
                 ResultSet rs = s.executeQuery()) {
                if (!rs.next()) {
                    throw ApiError.notFound("no bundle " + sha256);
                }
                return rs.getBytes(1);
            }
        });
    }

    /** The version a number, an alias or {@code latest} (or nothing) names. */
    static int resolve(Connection c, String function, String versionOrAlias) throws SQLException {
        Optional<Map<String, Object>> v;
        if (versionOrAlias != null && versionOrAlias.matches("[0-9]{1,9}")) {
            v = row(c, "SELECT version FROM versions WHERE function = ? AND version = ?", function,
                    Integer.parseInt(versionOrAlias));
        } else if (versionOrAlias == null || versionOrAlias.isEmpty() || versionOrAlias.equals("latest")) {
            v = row(c, "SELECT MAX(version) AS version FROM versions WHERE function = ?", function)
                    .filter(r -> r.get("version") != null);
        } else {
            v = row(c, "SELECT version FROM aliases WHERE function = ? AND name = ?", function, versionOrAlias);
        }
        return v.map(r -> (int) number(r.get("version"))).orElseThrow(() -> ApiError.notFound("no version '"
                + versionOrAlias + "' of function '" + function + "'"));
    }
}
