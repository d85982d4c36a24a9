package dev.bramble.deployer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The fleet's state and the rules that change it: signers, signed versions, devices and their tokens, desired
 * states with revisions, and rollouts (all at once, or a canary wave first, halted past a failure threshold).
 * Every change is one transaction; writes are serialised in this process, and the database's constraints guard
 * what several replicas might race on.
 */
final class Fleet {
    private static final System.Logger LOG = System.getLogger(Fleet.class.getName());
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final Pattern TARGET = Pattern.compile("(device|group):([A-Za-z0-9_.-]{1,64})|tag:([A-Za-z0-9_.-]{1,64})=(.{1,128})");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    private final Database db;
    private final Clock clock;
    private final Bundle.Limits limits;
    /**
     * Long-polls wait here, on Helidon's virtual threads: a lock and condition park them, where a monitor's wait
     * would pin a carrier each on JDK 21 (docs/decisions/0006).
     */
    private final java.util.concurrent.locks.ReentrantLock revisionLock = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.locks.Condition revisionChanged = revisionLock.newCondition();

    Fleet(Database db, Clock clock, Bundle.Limits limits) {
        this.db = db;
        this.clock = clock;
        this.limits = limits;
    }

    <T> T tx(Database.Work<T> work) {
        return db.tx(work);
    }

    <T> T read(Database.Work<T> work) {
        return db.read(work);
    }

    private static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement s = c.prepareStatement(sql);
        for (int i = 0; i < args.length; i++) {
            s.setObject(i + 1, args[i]);
        }
        return s;
    }

    private static int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement s = prepare(c, sql, args)) {
            return s.executeUpdate();
        }
    }

    private static List<Map<String, Object>> rows(Connection c, String sql, Object... args) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        try (PreparedStatement s = prepare(c, sql, args); ResultSet rs = s.executeQuery()) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= n; i++) {
                    row.put(rs.getMetaData().getColumnLabel(i), rs.getObject(i));
                }
                out.add(row);
            }
        }
        return out;
    }

    private static Optional<Map<String, Object>> row(Connection c, String sql, Object... args) throws SQLException {
        List<Map<String, Object>> r = rows(c, sql, args);
        return r.isEmpty() ? Optional.empty() : Optional.of(r.getFirst());
    }

    private static long number(Object o) {
        return o == null ? 0 : ((Number) o).longValue();
    }

    private long now() {
        return clock.millis();
    }

    // --- signers ------------------------------------------------------------------------------------------------

    /** Registers (or renames) a signer by its public key; returns the key id. */
    String addSigner(String name, String pem) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw ApiError.badRequest("name '" + name + "' is not allowed; use 1 to 64 letters, digits, '.', '-' "
                    + "or '_'");
        }
        PublicKey key;
        try {
            key = Signing.publicKey(pem == null ? "" : pem, "publicKey");
        } catch (IOException e) {
            throw ApiError.badRequest(e.getMessage());
        }
        String id = Signing.keyId(key);
        tx(c -> {
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
        return read(c -> {
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
     * Publishes a signed bundle as its function's next version (or returns the newest version when it is the same
     * bundle).
     *
     * @throws BundleException            when the bundle is not acceptable
     * @throws dev.bramble.protocol.SignatureException when the signature is missing, unknown or wrong
     */
    Published publish(Path zip, String signatureJson) {
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
        Published p = tx(c -> {
            Optional<Map<String, Object>> latest = row(c, "SELECT version, sha256 FROM versions WHERE function = ? "
                    + "ORDER BY version DESC LIMIT 1", name);
            if (latest.isPresent() && latest.get().get("sha256").equals(bundle.sha256())) {
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
            update(c, "INSERT INTO versions (function, version, sha256, signature, key_id, manifest, created_at) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?)", name, version, bundle.sha256(), sig.toJson(), sig.keyId(),
                    new String(bundle.manifestJson(), java.nio.charset.StandardCharsets.UTF_8), now());
            return new Published(name, version, bundle.sha256(), sig.keyId(), true);
        });
        LOG.log(Level.INFO, "version.published function={0} version={1} sha256={2} key_id={3}", p.function(),
                p.version(), p.sha256(), p.keyId());
        return p;
    }

    List<Map<String, Object>> functions() {
        return read(c -> rows(c, "SELECT function AS name, MAX(version) AS latest, COUNT(*) AS versions FROM versions "
                + "GROUP BY function ORDER BY function"));
    }

    List<Map<String, Object>> versions(String function) {
        List<Map<String, Object>> v = read(c -> rows(c, "SELECT version, sha256, key_id AS \"keyId\", created_at AS "
                + "\"createdAt\" FROM versions WHERE function = ? ORDER BY version", function));
        if (v.isEmpty()) {
            throw ApiError.notFound("function '" + function + "' has no published versions");
        }
        return v;
    }

    /** Points a function's alias (e.g. {@code stable}) at one of its versions; deployments may name it. */
    Map<String, Object> setAlias(String function, String alias, int version) {
        if (alias == null || !NAME.matcher(alias).matches() || alias.matches("[0-9]+") || alias.equals("latest")) {
            throw ApiError.badRequest("alias '" + alias + "' is not allowed; use 1 to 64 letters, digits, '.', '-' or "
                    + "'_', not only digits, not 'latest'");
        }
        tx(c -> {
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
        return read(c -> rows(c, "SELECT name, version FROM aliases WHERE function = ? ORDER BY name", function));
    }

    /** A bundle's bytes. */
    byte[] bundle(String sha256) {
        return read(c -> {
            try (PreparedStatement s = prepare(c, "SELECT content FROM bundles WHERE sha256 = ?", sha256);
                 ResultSet rs = s.executeQuery()) {
                if (!rs.next()) {
                    throw ApiError.notFound("no bundle " + sha256);
                }
                return rs.getBytes(1);
            }
        });
    }

    // --- devices --------------------------------------------------------------------------------------------------

    String createEnrolmentToken(String group, Map<String, String> tags, int uses, Duration ttl) {
        checkGroupAndTags(group, tags);
        if (uses < 1 || uses > 100_000) {
            throw ApiError.badRequest("uses " + uses + " is not allowed; use 1 to 100000 devices");
        }
        if (ttl.toSeconds() < 60 || ttl.toDays() > 366) {
            throw ApiError.badRequest("ttlSeconds " + ttl.toSeconds() + " is not allowed; use 60 seconds to a year");
        }
        String token = Tokens.create("enrol");
        tx(c -> update(c, "INSERT INTO enrolment_tokens (token_hash, grp, tags, uses_left, expires_at) VALUES (?, ?, "
                + "?, ?, ?)", Tokens.hash(token), group, json(tags), uses, now() + ttl.toMillis()));
        return token;
    }

    record Enrolled(String deviceId, String token) {
    }

    Enrolled enrol(String enrolmentToken, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw ApiError.badRequest("name '" + name + "' is not allowed; use 1 to 64 letters, digits, '.', '-' "
                    + "or '_'");
        }
        String hash = Tokens.hash(enrolmentToken == null ? "" : enrolmentToken);
        String token = Tokens.create("dev");
        String id = Tokens.id("dev");
        tx(c -> {
            Map<String, Object> t = row(c, "SELECT grp, tags, uses_left, expires_at FROM enrolment_tokens WHERE "
                    + "token_hash = ?", hash).orElseThrow(() -> new ApiError(401, "Unauthorized",
                    "the enrolment token is not known"));
            if (number(t.get("uses_left")) <= 0 || number(t.get("expires_at")) < now()) {
                throw new ApiError(401, "Unauthorized", "the enrolment token is used up or expired");
            }
            update(c, "UPDATE enrolment_tokens SET uses_left = uses_left - 1 WHERE token_hash = ?", hash);
            update(c, "INSERT INTO devices (id, name, token_hash, grp, tags, revision, created_at) VALUES (?, ?, ?, ?, "
                    + "?, 0, ?)", id, name, Tokens.hash(token), t.get("grp"), t.get("tags"), now());
            return null;
        });
        LOG.log(Level.INFO, "device.enrolled id={0} name={1}", id, name);
        return new Enrolled(id, token);
    }

    /**
     * The device a token belongs to.
     *
     * @throws ApiError 401 {@code TokenRevoked} when it is a device token the operator revoked
     */
    Optional<String> deviceForToken(String token) {
        String hash = Tokens.hash(token);
        return read(c -> {
            Optional<String> id = row(c, "SELECT id FROM devices WHERE token_hash = ?", hash)
                    .map(r -> (String) r.get("id"));
            if (id.isEmpty()) {
                Optional<Map<String, Object>> revoked = row(c, "SELECT device, revoked_at FROM revoked_tokens WHERE "
                        + "token_hash = ?", hash);
                if (revoked.isPresent()) {
                    throw new ApiError(401, REVOKED, "the token of device " + revoked.get().get("device") + " was "
                            + "revoked at " + java.time.Instant.ofEpochMilli(number(revoked.get().get("revoked_at")))
                            + "; enrol the device again with a new enrolment token");
                }
            }
            return id;
        });
    }

    /** The error type a revoked device token gets, which the agent acts on. */
    static final String REVOKED = "TokenRevoked";

    /**
     * Cuts a device off: its token stops working at once (and is remembered as revoked), it is left out of new
     * rollouts, and rollouts waiting on it skip it instead of waiting forever.
     */
    Map<String, Object> revoke(String id) {
        List<String> touched = new ArrayList<>();
        tx(c -> {
            Map<String, Object> d = row(c, "SELECT token_hash, revoked_at FROM devices WHERE id = ?", id)
                    .orElseThrow(() -> ApiError.notFound("no device '" + id + "'"));
            if (d.get("revoked_at") != null) {
                return null;
            }
            update(c, "INSERT INTO revoked_tokens (token_hash, device, revoked_at) VALUES (?, ?, ?)",
                    d.get("token_hash"), id, now());
            // no token hashes to this: a fresh random one, never given out
            update(c, "UPDATE devices SET token_hash = ?, revoked_at = ? WHERE id = ?",
                    Tokens.hash(Tokens.create("revoked")), now(), id);
            for (Map<String, Object> r : rows(c, "SELECT dd.deployment, d.max_failures FROM deployment_devices dd "
                    + "JOIN deployments d ON d.id = dd.deployment WHERE dd.device = ? AND dd.state IN ('pending', "
                    + "'waiting')", id)) {
                String deployment = (String) r.get("deployment");
                update(c, "UPDATE deployment_devices SET state = 'skipped', error_code = 'REVOKED', error = ?, "
                        + "updated_at = ? WHERE deployment = ? AND device = ?", "the device's token was revoked",
                        now(), deployment, id);
                advance(c, deployment, (int) number(r.get("max_failures")));
                touched.add(deployment);
            }
            return null;
        });
        changed();
        LOG.log(Level.WARNING, "device.revoked id={0} rollouts_skipping_it={1}", id, touched);
        return device(id);
    }

    /** Whether a device's desired state names this bundle: the only bundles its token may download. */
    boolean desiredBy(String device, String sha256) {
        return read(c -> row(c, "SELECT 1 AS hit FROM desired d JOIN versions v ON v.function = d.function AND "
                + "v.version = d.version WHERE d.device = ? AND v.sha256 = ?", device, sha256).isPresent());
    }

    void updateDevice(String id, String group, Map<String, String> tags) {
        checkGroupAndTags(group, tags == null ? Map.of() : tags);
        tx(c -> {
            requireDevice(c, id);
            if (group != null) {
                update(c, "UPDATE devices SET grp = ? WHERE id = ?", group.isEmpty() ? null : group, id);
            }
            if (tags != null) {
                update(c, "UPDATE devices SET tags = ? WHERE id = ?", json(tags), id);
            }
            return null;
        });
    }

    private static void checkGroupAndTags(String group, Map<String, String> tags) {
        if (group != null && !group.isEmpty() && !NAME.matcher(group).matches()) {
            throw ApiError.badRequest("group '" + group + "' is not allowed; use 1 to 64 letters, digits, '.', '-' "
                    + "or '_'");
        }
        tags.forEach((k, v) -> {
            if (!NAME.matcher(k).matches() || v == null || v.isEmpty() || v.length() > 128) {
                throw ApiError.badRequest("tag '" + k + "=" + v + "' is not allowed; keys like a group name, values "
                        + "of 1 to 128 characters");
            }
        });
    }

    private static void requireDevice(Connection c, String id) throws SQLException {
        if (row(c, "SELECT id FROM devices WHERE id = ?", id).isEmpty()) {
            throw ApiError.notFound("no device '" + id + "'");
        }
    }

    List<Map<String, Object>> devices() {
        return read(c -> {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Map<String, Object> r : rows(c, "SELECT id, name, grp, tags, revision, last_seen, revoked_at FROM "
                    + "devices ORDER BY id")) {
                out.add(deviceView(r));
            }
            return out;
        });
    }

    /**
     * Each device's desired functions: version, and the state the device reached in the rollout that set it
     * (null when no rollout did, e.g. after a rollback).
     */
    Map<String, List<Map<String, Object>>> deviceFunctions() {
        return read(c -> {
            Map<String, List<Map<String, Object>>> out = new LinkedHashMap<>();
            for (Map<String, Object> r : rows(c, "SELECT d.device, d.function, d.version, d.deployment, dd.state "
                    + "FROM desired d LEFT JOIN deployment_devices dd ON dd.deployment = d.deployment AND "
                    + "dd.device = d.device ORDER BY d.device, d.function")) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("function", r.get("function"));
                m.put("version", number(r.get("version")));
                m.put("deployment", r.get("deployment"));
                m.put("state", r.get("state"));
                out.computeIfAbsent((String) r.get("device"), k -> new ArrayList<>()).add(m);
            }
            return out;
        });
    }

    Map<String, Object> device(String id) {
        return read(c -> {
            Map<String, Object> r = row(c, "SELECT id, name, grp, tags, revision, last_seen, revoked_at, status "
                    + "FROM devices WHERE id = ?", id).orElseThrow(() -> ApiError.notFound("no device '" + id + "'"));
            Map<String, Object> out = deviceView(r);
            out.put("desired", desiredRows(c, id));
            try {
                out.put("status", r.get("status") == null ? null : JSON.readTree((String) r.get("status")));
            } catch (IOException e) {
                out.put("status", null);
            }
            return out;
        });
    }

    private static Map<String, Object> deviceView(Map<String, Object> r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.get("id"));
        m.put("name", r.get("name"));
        m.put("group", r.get("grp"));
        m.put("tags", tags((String) r.get("tags")));
        m.put("revision", number(r.get("revision")));
        m.put("lastSeen", r.get("last_seen") == null ? null : java.time.Instant.ofEpochMilli(number(r.get("last_seen")))
                .toString());
        m.put("revokedAt", r.get("revoked_at") == null ? null
                : java.time.Instant.ofEpochMilli(number(r.get("revoked_at"))).toString());
        return m;
    }

    /** A device's own status report (what it runs, its health), kept as the device last sent it. */
    void reportStatus(String device, String statusJson) {
        tx(c -> update(c, "UPDATE devices SET status = ?, last_seen = ? WHERE id = ?", statusJson, now(), device));
    }

    // --- desired state --------------------------------------------------------------------------------------------

    record Desired(long revision, List<Map<String, Object>> functions) {
    }

    Desired desired(String device) {
        return read(c -> {
            Map<String, Object> d = row(c, "SELECT revision FROM devices WHERE id = ?", device)
                    .orElseThrow(() -> ApiError.notFound("no device '" + device + "'"));
            return new Desired(number(d.get("revision")), desiredRows(c, device));
        });
    }

    private static List<Map<String, Object>> desiredRows(Connection c, String device) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> r : rows(c, "SELECT d.function, d.version, d.deployment, v.sha256, v.signature, "
                + "v.manifest, b.size FROM desired d JOIN versions v ON v.function = d.function AND v.version = "
                + "d.version JOIN bundles b ON b.sha256 = v.sha256 WHERE d.device = ? ORDER BY d.function", device)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("function", r.get("function"));
            m.put("version", number(r.get("version")));
            m.put("sha256", r.get("sha256"));
            m.put("size", number(r.get("size")));
            m.put("signature", r.get("signature"));
            m.put("url", "/v1/bundles/" + r.get("sha256"));
            m.put("deployment", r.get("deployment"));
            out.add(m);
        }
        return out;
    }

    /**
     * The desired state once its revision passes {@code after}, or after {@code wait} with the current one. Wakes
     * at once on a change made by this replica and checks the database each second for others'.
     */
    Desired awaitDesired(String device, long after, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        tx(c -> update(c, "UPDATE devices SET last_seen = ? WHERE id = ?", now(), device));
        while (true) {
            Desired d = desired(device);
            long left = deadline - System.nanoTime();
            if (d.revision() > after || left <= 0) {
                return d;
            }
            revisionLock.lock();
            try {
                revisionChanged.await(Math.max(1, Math.min(1_000, left / 1_000_000)), TimeUnit.MILLISECONDS);
            } finally {
                revisionLock.unlock();
            }
        }
    }

    private void bump(Connection c, String device) throws SQLException {
        update(c, "UPDATE devices SET revision = revision + 1 WHERE id = ?", device);
    }

    private void changed() {
        revisionLock.lock();
        try {
            revisionChanged.signalAll();
        } finally {
            revisionLock.unlock();
        }
    }

    private static void setDesired(Connection c, String device, String function, Integer version, String deployment)
            throws SQLException {
        update(c, "DELETE FROM desired WHERE device = ? AND function = ?", device, function);
        if (version != null) {
            update(c, "INSERT INTO desired (device, function, version, deployment) VALUES (?, ?, ?, ?)", device,
                    function, version, deployment);
        }
    }

    // --- deployments ----------------------------------------------------------------------------------------------

    /**
     * Starts a rollout of {@code function:version} to a target ({@code device:ID}, {@code group:NAME},
     * {@code tag:K=V}): to all its devices at once, or to a canary wave first ({@code canary} devices, or
     * {@code canaryPercent} % of them), the rest once those report success. It halts when more than
     * {@code maxFailures} devices fail.
     */
    Map<String, Object> deploy(String function, String versionOrAlias, String target, int canary, int canaryPercent,
                               int maxFailures) {
        Matcher m = TARGET.matcher(target == null ? "" : target);
        if (!m.matches()) {
            throw ApiError.badRequest("target '" + target + "' is not allowed; use device:ID, group:NAME or tag:K=V");
        }
        if (canary < 0 || canaryPercent < 0 || canaryPercent > 100 || maxFailures < 0) {
            throw ApiError.badRequest("canary, canaryPercent (0..100) and maxFailures may not be negative");
        }
        String id = UUID.randomUUID().toString();
        tx(c -> {
            int version = resolve(c, function, versionOrAlias);
            List<String> devices = new ArrayList<>();
            // A revoked device takes part in no new rollout: it would never report.
            for (Map<String, Object> d : rows(c, "SELECT id, grp, tags FROM devices WHERE revoked_at IS NULL ORDER BY "
                    + "id")) {
                boolean hit = switch (m.group(1) == null ? "tag" : m.group(1)) {
                    case "device" -> d.get("id").equals(m.group(2));
                    case "group" -> m.group(2).equals(d.get("grp"));
                    default -> m.group(4).equals(tags((String) d.get("tags")).get(m.group(3)));
                };
                if (hit) {
                    devices.add((String) d.get("id"));
                }
            }
            if (devices.isEmpty()) {
                throw ApiError.badRequest("target '" + target + "' matches no device (revoked devices are left "
                        + "out)");
            }
            int first = canary > 0 ? canary : canaryPercent > 0
                    ? (int) Math.max(1, Math.ceil(devices.size() * canaryPercent / 100.0)) : devices.size();
            first = Math.min(first, devices.size());
            update(c, "INSERT INTO deployments (id, function, version, target, canary, max_failures, state, "
                    + "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'in_progress', ?, ?)", id, function, version,
                    target, first < devices.size() ? first : 0, maxFailures, now(), now());
            for (int i = 0; i < devices.size(); i++) {
                String device = devices.get(i);
                int wave = i < first ? 0 : 1;
                Integer previous = row(c, "SELECT version FROM desired WHERE device = ? AND function = ?", device,
                        function).map(r -> (int) number(r.get("version"))).orElse(null);
                // A newer deployment of the function takes over from older ones still under way on this device.
                update(c, "UPDATE deployment_devices SET state = 'superseded', updated_at = ? WHERE device = ? AND "
                        + "state IN ('pending', 'waiting') AND deployment IN (SELECT id FROM deployments WHERE "
                        + "function = ?)", now(), device, function);
                update(c, "INSERT INTO deployment_devices (deployment, device, wave, state, previous, updated_at) "
                        + "VALUES (?, ?, ?, ?, ?, ?)", id, device, wave, wave == 0 ? "pending" : "waiting", previous,
                        now());
                if (wave == 0) {
                    setDesired(c, device, function, version, id);
                    bump(c, device);
                }
            }
            return null;
        });
        changed();
        LOG.log(Level.INFO, "deployment.started id={0} function={1} version={2} target={3}", id, function,
                versionOrAlias, target);
        return deployment(id);
    }

    private static int resolve(Connection c, String function, String versionOrAlias) throws SQLException {
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

    /**
     * What a device says about a deployment: {@code succeeded}, or {@code failed} with a code (the device kept or
     * restored its previous version). Failures past the threshold halt the rollout.
     */
    void report(String device, String deploymentId, String state, String errorCode, String error) {
        if (!state.equals("succeeded") && !state.equals("failed")) {
            throw ApiError.badRequest("state '" + state + "' is not allowed; allowed: [succeeded, failed]");
        }
        tx(c -> {
            Map<String, Object> d = row(c, "SELECT function, version, state, max_failures FROM deployments WHERE id = ?",
                    deploymentId).orElseThrow(() -> ApiError.notFound("no deployment '" + deploymentId + "'"));
            Map<String, Object> dd = row(c, "SELECT state, previous FROM deployment_devices WHERE deployment = ? AND "
                    + "device = ?", deploymentId, device).orElseThrow(() -> new ApiError(403, "Forbidden",
                    "deployment " + deploymentId + " does not concern device " + device));
            if (!dd.get("state").equals("pending")) {
                return null; // a repeated or late report: already settled
            }
            update(c, "UPDATE deployment_devices SET state = ?, error_code = ?, error = ?, updated_at = ? WHERE "
                    + "deployment = ? AND device = ?", state, errorCode, error, now(), deploymentId, device);
            String function = (String) d.get("function");
            if (state.equals("failed")) {
                // The device runs its previous version; its desired state says so, or it would try again forever.
                Object previous = dd.get("previous");
                setDesired(c, device, function, previous == null ? null : (int) number(previous), null);
                bump(c, device);
            }
            advance(c, deploymentId, (int) number(d.get("max_failures")));
            return null;
        });
        changed();
        LOG.log(Level.INFO, "deployment.report id={0} device={1} state={2} code={3}", deploymentId, device, state,
                errorCode);
    }

    private void advance(Connection c, String id, int maxFailures) throws SQLException {
        Map<String, Object> d = row(c, "SELECT function, version, state FROM deployments WHERE id = ?", id).orElseThrow();
        if (!d.get("state").equals("in_progress")) {
            return;
        }
        Map<String, Long> counts = counts(c, id);
        if (counts.getOrDefault("failed", 0L) > maxFailures) {
            update(c, "UPDATE deployment_devices SET state = 'skipped', updated_at = ? WHERE deployment = ? AND state = "
                    + "'waiting'", now(), id);
            setState(c, id, "halted");
            LOG.log(Level.WARNING, "deployment.halted id={0} failed={1} max_failures={2}", id, counts.get("failed"),
                    maxFailures);
            return;
        }
        if (counts.getOrDefault("pending", 0L) > 0) {
            return;
        }
        List<Map<String, Object>> waiting = rows(c, "SELECT device FROM deployment_devices WHERE deployment = ? AND "
                + "state = 'waiting'", id);
        if (waiting.isEmpty()) {
            setState(c, id, "succeeded");
            return;
        }
        for (Map<String, Object> w : waiting) {
            String device = (String) w.get("device");
            update(c, "UPDATE deployment_devices SET state = 'pending', updated_at = ? WHERE deployment = ? AND "
                    + "device = ?", now(), id, device);
            setDesired(c, device, (String) d.get("function"), (int) number(d.get("version")), id);
            bump(c, device);
        }
        LOG.log(Level.INFO, "deployment.next-wave id={0} devices={1}", id, waiting.size());
    }

    private void setState(Connection c, String id, String state) throws SQLException {
        update(c, "UPDATE deployments SET state = ?, updated_at = ? WHERE id = ?", state, now(), id);
    }

    private static Map<String, Long> counts(Connection c, String id) throws SQLException {
        Map<String, Long> counts = new TreeMap<>();
        for (Map<String, Object> r : rows(c, "SELECT state, COUNT(*) AS n FROM deployment_devices WHERE deployment = ? "
                + "GROUP BY state", id)) {
            counts.put((String) r.get("state"), number(r.get("n")));
        }
        return counts;
    }

    /** Stops a rollout where it is: devices not yet started are skipped. */
    Map<String, Object> cancel(String id) {
        tx(c -> {
            requireDeployment(c, id);
            update(c, "UPDATE deployment_devices SET state = 'skipped', updated_at = ? WHERE deployment = ? AND state = "
                    + "'waiting'", now(), id);
            update(c, "UPDATE deployments SET state = 'cancelled', updated_at = ? WHERE id = ? AND state = "
                    + "'in_progress'", now(), id);
            return null;
        });
        return deployment(id);
    }

    /** Puts every device the rollout reached back on the version it had before. */
    Map<String, Object> rollback(String id) {
        tx(c -> {
            Map<String, Object> d = requireDeployment(c, id);
            for (Map<String, Object> r : rows(c, "SELECT device, previous FROM deployment_devices WHERE deployment = ? "
                    + "AND state IN ('pending', 'succeeded')", id)) {
                String device = (String) r.get("device");
                Object previous = r.get("previous");
                setDesired(c, device, (String) d.get("function"), previous == null ? null : (int) number(previous),
                        null);
                bump(c, device);
                update(c, "UPDATE deployment_devices SET state = 'rolled_back', updated_at = ? WHERE deployment = ? "
                        + "AND device = ?", now(), id, device);
            }
            update(c, "UPDATE deployment_devices SET state = 'skipped', updated_at = ? WHERE deployment = ? AND state = "
                    + "'waiting'", now(), id);
            setState(c, id, "rolled_back");
            return null;
        });
        changed();
        LOG.log(Level.INFO, "deployment.rolled-back id={0}", id);
        return deployment(id);
    }

    private static Map<String, Object> requireDeployment(Connection c, String id) throws SQLException {
        return row(c, "SELECT function, version, state FROM deployments WHERE id = ?", id)
                .orElseThrow(() -> ApiError.notFound("no deployment '" + id + "'"));
    }

    Map<String, Object> deployment(String id) {
        return read(c -> {
            Map<String, Object> d = row(c, "SELECT id, function, version, target, canary, max_failures, state, "
                    + "created_at, updated_at FROM deployments WHERE id = ?", id)
                    .orElseThrow(() -> ApiError.notFound("no deployment '" + id + "'"));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("id", d.get("id"));
            out.put("function", d.get("function"));
            out.put("version", number(d.get("version")));
            out.put("target", d.get("target"));
            out.put("canary", number(d.get("canary")));
            out.put("maxFailures", number(d.get("max_failures")));
            out.put("state", d.get("state"));
            out.put("counts", counts(c, id));
            List<Map<String, Object>> devices = new ArrayList<>();
            for (Map<String, Object> r : rows(c, "SELECT device, wave, state, previous, error_code, error, updated_at "
                    + "FROM deployment_devices WHERE deployment = ? ORDER BY wave, device", id)) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("device", r.get("device"));
                m.put("wave", number(r.get("wave")));
                m.put("state", r.get("state"));
                m.put("previousVersion", r.get("previous") == null ? null : number(r.get("previous")));
                m.put("errorCode", r.get("error_code"));
                m.put("error", r.get("error"));
                devices.add(m);
            }
            out.put("devices", devices);
            return out;
        });
    }

    List<Map<String, Object>> deployments() {
        return read(c -> rows(c, "SELECT id, function, version, target, state FROM deployments ORDER BY created_at "
                + "DESC"));
    }

    private static String json(Map<String, String> tags) {
        try {
            return JSON.writeValueAsString(new TreeMap<>(tags));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, String> tags(String json) {
        try {
            return json == null ? Map.of() : JSON.readValue(json, new TypeReference<TreeMap<String, String>>() {
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
