package dev.bramble.deployer;

import dev.bramble.protocol.DeploymentErrorCode;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.bramble.deployer.Sql.JSON;
import static dev.bramble.deployer.Sql.json;
import static dev.bramble.deployer.Sql.number;
import static dev.bramble.deployer.Sql.row;
import static dev.bramble.deployer.Sql.rows;
import static dev.bramble.deployer.Sql.tags;
import static dev.bramble.deployer.Sql.update;

/** The devices: enrolment tokens, enrolment, device tokens and their revocation, groups, tags and status. */
final class Devices {
    private static final System.Logger LOG = System.getLogger(Devices.class.getName());

    /** The error type a revoked device token gets, which the agent acts on. */
    static final String REVOKED = "TokenRevoked";

    private final Database db;
    private final Clock clock;
    private final DesiredStates desired;
    private final Rollouts rollouts;

    Devices(Database db, Clock clock, DesiredStates desired, Rollouts rollouts) {
        this.db = db;
        this.clock = clock;
        this.desired = desired;
        this.rollouts = rollouts;
    }

    private long now() {
        return clock.millis();
    }

    String createEnrolmentToken(String group, Map<String, String> tags, int uses, Duration ttl) {
        checkGroupAndTags(group, tags);
        if (uses < 1 || uses > 100_000) {
            throw ApiError.badRequest("uses " + uses + " is not allowed; use 1 to 100000 devices");
        }
        if (ttl.toSeconds() < 60 || ttl.toDays() > 366) {
            throw ApiError.badRequest("ttlSeconds " + ttl.toSeconds() + " is not allowed; use 60 seconds to a year");
        }
        String token = Tokens.create("enrol");
        db.tx(c -> update(c, "INSERT INTO enrolment_tokens (token_hash, grp, tags, uses_left, expires_at) VALUES (?, ?, "
                + "?, ?, ?)", Tokens.hash(token), group, json(tags), uses, now() + ttl.toMillis()));
        return token;
    }

    record Enrolled(String deviceId, String token) {
    }

    Enrolled enrol(String enrolmentToken, String name) {
        Sql.checkName("name", name);
        String hash = Tokens.hash(enrolmentToken == null ? "" : enrolmentToken);
        String token = Tokens.create("dev");
        String id = Tokens.id("dev");
        db.tx(c -> {
            Map<String, Object> t = row(c, "SELECT grp, tags, uses_left, expires_at FROM enrolment_tokens WHERE "
                    + "token_hash = ?", hash).orElseThrow(() -> new ApiError(401, "Unauthorized",
                    "the enrolment token is not known"));
            if (number(t.get("uses_left")) <= 0 || number(t.get("expires_at")) < now()) {
                throw new ApiError(401, "Unauthorized", "the enrolment token is used up or expired");
            }
            update(c, "UPDATE enrolment_tokens SET uses_left = uses_left - 1 WHERE token_hash = ?", hash);
            update(c, "INSERT INTO devices (id, name, token_hash, grp, tags, revision, created_at, token_issued_at) "
                    + "VALUES (?, ?, ?, ?, ?, 0, ?, ?)", id, name, Tokens.hash(token), t.get("grp"), t.get("tags"),
                    now(), now());
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
        Optional<String> found = db.read(c -> {
            Optional<String> id = row(c, "SELECT id FROM devices WHERE token_hash = ?", hash)
                    .map(r -> (String) r.get("id"));
            if (id.isEmpty() && row(c, "SELECT id FROM devices WHERE next_token_hash = ?", hash).isPresent()) {
                return Optional.of(""); // a new token's first use: promoted below, in a transaction
            }
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
        return found.isPresent() && found.get().isEmpty() ? promote(hash) : found;
    }

    /**
     * The first use of a device's new token makes it its only one: the old token stops working, so one stolen
     * before the rotation is worth nothing once the device has moved on.
     */
    private Optional<String> promote(String hash) {
        return db.tx(c -> {
            Optional<String> id = row(c, "SELECT id FROM devices WHERE next_token_hash = ? AND revoked_at IS NULL",
                    hash).map(r -> (String) r.get("id"));
            if (id.isPresent()) {
                update(c, "UPDATE devices SET token_hash = next_token_hash, next_token_hash = NULL, rotate_requested "
                        + "= 0, token_issued_at = ? WHERE id = ?", now(), id.get());
                LOG.log(Level.INFO, "device.token-rotated id={0}", id.get());
                return id;
            }
            // promoted meanwhile by another request with the same token
            return row(c, "SELECT id FROM devices WHERE token_hash = ?", hash).map(r -> (String) r.get("id"));
        });
    }

    /**
     * A new token for a device, asked for with its current one: the current token keeps working until the new one
     * is first used, so a lost answer costs nothing (the device asks again; the earlier new token is dropped).
     */
    String newToken(String id) {
        String token = Tokens.create("dev");
        db.tx(c -> {
            if (update(c, "UPDATE devices SET next_token_hash = ? WHERE id = ? AND revoked_at IS NULL",
                    Tokens.hash(token), id) == 0) {
                throw ApiError.notFound("no device '" + id + "'");
            }
            return null;
        });
        LOG.log(Level.INFO, "device.token-issued id={0}", id);
        return token;
    }

    /** The operator's ask that a device rotate its token; its long-poll wakes with {@code rotateToken}. */
    Map<String, Object> requestRotation(String id) {
        db.tx(c -> {
            Map<String, Object> d = row(c, "SELECT revoked_at FROM devices WHERE id = ?", id)
                    .orElseThrow(() -> ApiError.notFound("no device '" + id + "'"));
            if (d.get("revoked_at") != null) {
                throw ApiError.conflict("device " + id + " is revoked; a revoked device enrols again, it does not "
                        + "rotate");
            }
            update(c, "UPDATE devices SET rotate_requested = 1 WHERE id = ?", id);
            desired.touch(c, id);
            return null;
        });
        desired.changed();
        LOG.log(Level.INFO, "device.token-rotation-requested id={0}", id);
        return device(id);
    }

    /**
     * Cuts a device off: its token stops working at once (and is remembered as revoked), it is left out of new
     * rollouts, and rollouts waiting on it skip it instead of waiting forever.
     */
    Map<String, Object> revoke(String id) {
        List<String> touched = db.tx(c -> {
            Map<String, Object> d = row(c, "SELECT token_hash, next_token_hash, revoked_at FROM devices WHERE id = ?",
                    id)
                    .orElseThrow(() -> ApiError.notFound("no device '" + id + "'"));
            if (d.get("revoked_at") != null) {
                return List.<String>of();
            }
            // the rollouts first: their locks come before their devices', in every transaction
            List<String> left = rollouts.leave(c, id, DeploymentErrorCode.REVOKED, "the device's token was revoked");
            update(c, "INSERT INTO revoked_tokens (token_hash, device, revoked_at) VALUES (?, ?, ?)",
                    d.get("token_hash"), id, now());
            // no token hashes to this: a fresh random one, never given out
            if (d.get("next_token_hash") != null) {
                update(c, "INSERT INTO revoked_tokens (token_hash, device, revoked_at) VALUES (?, ?, ?)",
                        d.get("next_token_hash"), id, now());
            }
            update(c, "UPDATE devices SET token_hash = ?, next_token_hash = NULL, revoked_at = ? WHERE id = ?",
                    Tokens.hash(Tokens.create("revoked")), now(), id);
            return left;
        });
        desired.changed();
        LOG.log(Level.WARNING, "device.revoked id={0} rollouts_skipping_it={1}", id, touched);
        return device(id);
    }

    /**
     * Changes a device's group (null: unchanged; empty: none) and tags: {@code tags} replaces them all (null:
     * unchanged), then {@code addTags} are set and {@code removeTags} taken away, in one transaction so that two
     * operators tagging the same device lose neither change.
     */
    void updateDevice(String id, String group, Map<String, String> tags, Map<String, String> addTags,
                      List<String> removeTags) {
        checkGroupAndTags(group, tags == null ? Map.of() : tags);
        checkGroupAndTags(null, addTags);
        for (String k : removeTags) {
            Sql.checkName("tag key", k);
        }
        db.tx(c -> {
            Map<String, Object> d = row(c, "SELECT tags FROM devices WHERE id = ?" + (db.sqlite() ? "" : " FOR UPDATE"),
                    id).orElseThrow(() -> ApiError.notFound("no device '" + id + "'"));
            if (group != null) {
                update(c, "UPDATE devices SET grp = ? WHERE id = ?", group.isEmpty() ? null : group, id);
            }
            Map<String, String> now = new java.util.TreeMap<>(tags != null ? tags : tags((String) d.get("tags")));
            now.putAll(addTags);
            removeTags.forEach(now::remove);
            update(c, "UPDATE devices SET tags = ? WHERE id = ?", json(now), id);
            return null;
        });
    }

    private static void checkGroupAndTags(String group, Map<String, String> tags) {
        if (group != null && !group.isEmpty()) {
            Sql.checkName("group", group);
        }
        tags.forEach((k, v) -> {
            if (!Sql.NAME.matcher(k).matches() || v == null || v.isEmpty() || v.length() > 128) {
                throw ApiError.badRequest("tag '" + k + "=" + v + "' is not allowed; keys like a group name, values "
                        + "of 1 to 128 characters");
            }
        });
    }

    List<Map<String, Object>> devices() {
        return db.read(c -> {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Map<String, Object> r : rows(c, "SELECT id, name, grp, tags, revision, last_seen, revoked_at FROM "
                    + "devices ORDER BY id")) {
                out.add(deviceView(r));
            }
            return out;
        });
    }

    Map<String, Object> device(String id) {
        return db.read(c -> {
            Map<String, Object> r = row(c, "SELECT id, name, grp, tags, revision, last_seen, revoked_at, status, "
                    + "token_issued_at, rotate_requested, next_token_hash FROM devices WHERE id = ?", id)
                    .orElseThrow(() -> ApiError.notFound("no device '" + id + "'"));
            Map<String, Object> out = deviceView(r);
            Map<String, Object> token = new LinkedHashMap<>();
            token.put("issuedAt", r.get("token_issued_at") == null ? null
                    : java.time.Instant.ofEpochMilli(number(r.get("token_issued_at"))).toString());
            token.put("rotation", r.get("next_token_hash") != null ? "issued, not used yet"
                    : number(r.get("rotate_requested")) != 0 ? "requested" : null);
            out.put("token", token);
            out.put("desired", DesiredStates.functions(c, id));
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
        db.tx(c -> update(c, "UPDATE devices SET status = ?, last_seen = ? WHERE id = ?", statusJson, now(), device));
    }
}
