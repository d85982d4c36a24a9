package dev.bramble.deployer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.bramble.protocol.BundleException;
import dev.bramble.protocol.DeploymentReport;
import dev.bramble.protocol.DesiredState;
import dev.bramble.protocol.DeviceRolloutState;
import dev.bramble.protocol.SignatureException;
import dev.bramble.protocol.TelemetryBatch;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The deployer's HTTP API. Every call is authenticated: the admin token (the CLI) for fleet management, a device
 * token for a device's own desired state, reports and bundle downloads, an enrolment token to enrol. A missing or
 * unknown token is 401; a known token used beyond its rights (a device on admin routes, or on another device) 403.
 */
final class DeployerApi {
    private static final System.Logger LOG = System.getLogger(DeployerApi.class.getName());
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private static final int TELEMETRY_MAX_BYTES = 32 << 20;

    private final Fleet fleet;
    private final Telemetry telemetry;
    private final DeployerConfig config;
    private final String adminToken;
    private final FleetMetrics metrics;

    DeployerApi(Fleet fleet, Telemetry telemetry, FleetMetrics metrics, DeployerConfig config, String adminToken) {
        this.fleet = fleet;
        this.telemetry = telemetry;
        this.metrics = metrics;
        this.config = config;
        this.adminToken = adminToken;
    }

    /** Who is calling. */
    private sealed interface Caller {
        record Admin() implements Caller {
        }

        record Device(String id) implements Caller {
        }

        /** Prometheus, with metrics.token: {@code GET /metrics} and nothing else. */
        record Scraper() implements Caller {
        }
    }

    void register(HttpRouting.Builder r) {
        r.get("/v1/health", (req, res) -> send(res, 200, Map.of("status", "ok")))
                .get("/metrics", (req, res) -> {
                    if (caller(req) instanceof Caller.Device) {
                        throw new ApiError(403, "Forbidden", "/metrics needs the admin token or metrics.token; a "
                                + "device token only reaches the device's own desired state, reports and bundles");
                    }
                    res.header(HeaderNames.CONTENT_TYPE, metrics.contentType());
                    try (java.io.OutputStream out = res.outputStream()) {
                        metrics.write(out);
                    }
                })
                .post("/v1/signers", (req, res) -> {
                    admin(req);
                    JsonNode b = body(req);
                    send(res, 201, Map.of("keyId", fleet.catalog().addSigner(b.path("name").asText(null),
                            b.path("publicKey").asText(null))));
                })
                .get("/v1/signers", (req, res) -> {
                    admin(req);
                    send(res, 200, Map.of("signers", fleet.catalog().signers().keySet()));
                })
                .post("/v1/functions", this::publish)
                .get("/v1/functions", (req, res) -> {
                    admin(req);
                    send(res, 200, Map.of("functions", fleet.catalog().functions()));
                })
                .get("/v1/functions/{name}/versions", (req, res) -> {
                    admin(req);
                    String name = req.path().pathParameters().get("name");
                    send(res, 200, Map.of("function", name, "versions", fleet.catalog().versions(name), "aliases",
                            fleet.catalog().aliases(name)));
                })
                .put("/v1/functions/{name}/aliases/{alias}", (req, res) -> {
                    admin(req);
                    JsonNode b = body(req);
                    if (!b.path("version").canConvertToInt()) {
                        throw ApiError.badRequest("send {\"version\": N}");
                    }
                    send(res, 200, fleet.catalog().setAlias(req.path().pathParameters().get("name"),
                            req.path().pathParameters().get("alias"), b.path("version").asInt()));
                })
                .post("/v1/enrolment-tokens", (req, res) -> {
                    admin(req);
                    JsonNode b = body(req);
                    String token = fleet.devices().createEnrolmentToken(b.path("group").asText(null), strings(b.path("tags")),
                            b.path("uses").asInt(1), Duration.ofSeconds(b.path("ttlSeconds").asLong(86_400)));
                    send(res, 201, Map.of("token", token));
                })
                .post("/v1/enrol", (req, res) -> {
                    JsonNode b = body(req);
                    Devices.Enrolled e = fleet.devices().enrol(b.path("token").asText(null), b.path("name").asText(null));
                    send(res, 201, Map.of("deviceId", e.deviceId(), "deviceToken", e.token()));
                })
                .get("/v1/devices", (req, res) -> {
                    admin(req);
                    send(res, 200, Map.of("devices", devices()));
                })
                .get("/v1/logs", this::fleetLogs)
                .get("/v1/devices/{id}", (req, res) -> {
                    String id = ownDevice(req);
                    send(res, 200, fleet.devices().device(id));
                })
                .put("/v1/devices/{id}", (req, res) -> {
                    admin(req);
                    String id = req.path().pathParameters().get("id");
                    JsonNode b = body(req);
                    List<String> remove = new java.util.ArrayList<>();
                    b.path("removeTags").forEach(k -> remove.add(k.asText()));
                    fleet.devices().updateDevice(id, b.has("group") ? b.path("group").asText("") : null,
                            b.has("tags") ? strings(b.path("tags")) : null, strings(b.path("addTags")), remove);
                    send(res, 200, fleet.devices().device(id));
                })
                .post("/v1/devices/{id}/rotate-token", (req, res) -> {
                    admin(req);
                    send(res, 200, fleet.devices().requestRotation(req.path().pathParameters().get("id")));
                })
                .post("/v1/devices/{id}/token", (req, res) -> {
                    // the device itself, with its current token: a new one, which replaces it once first used
                    String id = ownDevice(req);
                    if (!(caller(req) instanceof Caller.Device)) {
                        throw new ApiError(403, "Forbidden", "a device asks for its own new token with its current "
                                + "one; the operator asks for a rotation: POST /v1/devices/" + id + "/rotate-token");
                    }
                    send(res, 201, Map.of("deviceId", id, "deviceToken", fleet.devices().newToken(id)));
                })
                .post("/v1/devices/{id}/revoke", (req, res) -> {
                    admin(req);
                    send(res, 200, fleet.devices().revoke(req.path().pathParameters().get("id")));
                })
                .get("/v1/devices/{id}/desired", this::desired)
                .post("/v1/devices/{id}/reports", (req, res) -> {
                    String id = ownDevice(req);
                    JsonNode b = body(req);
                    DeviceRolloutState state;
                    try {
                        state = DeviceRolloutState.of(b.path("state").asText(""));
                    } catch (IllegalArgumentException e) {
                        throw ApiError.badRequest("state '" + b.path("state").asText("") + "' is not allowed; "
                                + "allowed: [succeeded, failed]");
                    }
                    fleet.rollouts().report(id, new DeploymentReport(b.path("deployment").asText(""), state,
                            b.path("errorCode").asText(null), b.path("error").asText(null)));
                    send(res, 200, Map.of("ok", true));
                })
                .put("/v1/devices/{id}/status", (req, res) -> {
                    String id = ownDevice(req);
                    fleet.devices().reportStatus(id, body(req).toString());
                    send(res, 200, Map.of("ok", true));
                })
                .post("/v1/devices/{id}/telemetry", this::telemetry)
                .get("/v1/devices/{id}/logs", (req, res) -> {
                    admin(req);
                    String id = req.path().pathParameters().get("id");
                    fleet.devices().device(id);
                    String function = req.query().first("function").orElseThrow(() -> ApiError.badRequest(
                            "name the function: ?function=NAME"));
                    long since = number(req.query().first("since").orElse(null), "since", 0);
                    long after = number(req.query().first("after").orElse(null), "after", 0);
                    long limit = number(req.query().first("limit").orElse(null), "limit", 1000);
                    if (limit < 1 || limit > 10_000) {
                        throw ApiError.badRequest("limit " + limit + " is not allowed; use 1 to 10000");
                    }
                    List<Map<String, Object>> lines = telemetry.logs(id, function, since, after, (int) limit);
                    Map<String, Object> out = new LinkedHashMap<>();
                    out.put("device", id);
                    out.put("function", function);
                    out.put("lines", lines);
                    out.put("next", lines.isEmpty() ? after : lines.getLast().get("id"));
                    send(res, 200, out);
                })
                .get("/v1/devices/{id}/metrics", (req, res) -> {
                    admin(req);
                    String id = req.path().pathParameters().get("id");
                    fleet.devices().device(id);
                    send(res, 200, telemetry.metrics(id, req.query().first("function").orElse(null)));
                })
                .get("/v1/bundles/{sha256}", this::bundle)
                .post("/v1/deployments", (req, res) -> {
                    admin(req);
                    JsonNode b = body(req);
                    // "version": "none" is an undeploy: the devices delete the function.
                    String version = b.path("version").asText(null);
                    Map<String, Object> d = "none".equals(version)
                            ? fleet.rollouts().undeploy(b.path("function").asText(null), b.path("target")
                            .asText(null), RolloutPlan.parse(b))
                            : fleet.rollouts().deploy(b.path("function").asText(null), version,
                            b.path("target").asText(null), RolloutPlan.parse(b));
                    res.header(HeaderNames.LOCATION, "/v1/deployments/" + d.get("id"));
                    send(res, 201, d);
                })
                .get("/v1/deployments", (req, res) -> {
                    admin(req);
                    send(res, 200, Map.of("deployments", fleet.rollouts().deployments()));
                })
                .get("/v1/deployments/{id}", (req, res) -> {
                    admin(req);
                    String devices = req.query().first("devices").orElse("true");
                    if (!devices.equals("true") && !devices.equals("false")) {
                        throw ApiError.badRequest("devices '" + devices + "' is not allowed; use true (the default) "
                                + "or false (counts only)");
                    }
                    Optional<String> since = req.query().first("changedSince").asOptional();
                    if (since.isPresent() && !since.get().matches("[0-9]{1,15}")) {
                        throw ApiError.badRequest("changedSince '" + since.get() + "' is not allowed; use the "
                                + "\"cursor\" of the previous answer (milliseconds since the epoch)");
                    }
                    send(res, 200, fleet.rollouts().deployment(req.path().pathParameters().get("id"),
                            devices.equals("true"), since.map(Long::parseLong).orElse(-1L)));
                })
                .post("/v1/deployments/{id}/cancel", (req, res) -> {
                    admin(req);
                    send(res, 200, fleet.rollouts().cancel(req.path().pathParameters().get("id")));
                })
                .post("/v1/deployments/{id}/rollback", (req, res) -> {
                    admin(req);
                    send(res, 200, fleet.rollouts().rollback(req.path().pathParameters().get("id")));
                })
                .post("/v1/deployments/{id}/pause", (req, res) -> {
                    admin(req);
                    send(res, 200, fleet.rollouts().pause(req.path().pathParameters().get("id")));
                })
                .post("/v1/deployments/{id}/resume", (req, res) -> {
                    admin(req);
                    send(res, 200, fleet.rollouts().resume(req.path().pathParameters().get("id")));
                })
                .error(ApiError.class, (req, res, e) -> {
                    if (e.status() == 503) {
                        res.header(HeaderNames.RETRY_AFTER, "1");
                    }
                    error(res, e.status(), e.type(), e.getMessage(), e.problems());
                })
                .error(BundleException.class, (req, res, e) -> error(res, 400, "InvalidBundle", e.getMessage(),
                        e.problems()))
                .error(SignatureException.class, (req, res, e) -> error(res, 400, "InvalidSignature",
                        e.code() + ": " + e.getMessage(), List.of()))
                .error(io.helidon.http.HttpException.class, (req, res, e) -> {
                    // Helidon's own: an unchanged console asset (304), no route (404), an unreadable request.
                    if (!dev.bramble.console.Console.notModified(e, res)) {
                        int status = e.status().code();
                        error(res, status, status == 404 ? "NotFound" : status == 413 ? "TooLarge"
                                : status >= 500 ? "InternalError" : "BadRequest", status == 404 ? "no route for "
                                + req.prologue().method().text() + " " + req.path().rawPath()
                                + "; docs/deploying.md lists the deployer's API" : e.getMessage(), List.of());
                    }
                })
                .error(Throwable.class, (req, res, e) -> {
                    String id = UUID.randomUUID().toString();
                    LOG.log(Level.ERROR, "http.unhandled id=" + id + " path=" + req.path().rawPath(), e);
                    error(res, 500, "InternalError", "internal error " + id + "; the deployer's log has the detail",
                            List.of());
                });
    }

    /**
     * Every device with what the console shows of it: the versions it should run and how far each got, its link
     * ({@code online} while it polls: it keeps a long-poll open, so it was seen within a long-poll and some), and
     * its outbox as its last upload described it.
     */
    private List<Map<String, Object>> devices() {
        Map<String, List<Map<String, Object>>> functions = fleet.desired().byDevice();
        Map<String, Map<String, Object>> links = telemetry.links();
        long onlineWithinMs = (config.longPollSeconds() + 15) * 1000L;
        List<Map<String, Object>> out = new java.util.ArrayList<>();
        for (Map<String, Object> d : fleet.devices().devices()) {
            Map<String, Object> m = new LinkedHashMap<>(d);
            String id = (String) d.get("id");
            Object seen = d.get("lastSeen");
            m.put("link", d.get("revokedAt") != null ? "revoked" : seen != null && System.currentTimeMillis()
                    - java.time.Instant.parse((String) seen).toEpochMilli() <= onlineWithinMs ? "online" : "offline");
            m.put("functions", functions.getOrDefault(id, List.of()));
            m.put("telemetry", links.get(id));
            out.add(m);
        }
        return out;
    }

    /**
     * The fleet's log lines, every device's or {@code ?device=}/{@code ?function=} one's: {@code ?tail=N} for the
     * newest N, then {@code ?after=<next>} to follow.
     */
    private void fleetLogs(ServerRequest req, ServerResponse res) {
        admin(req);
        String device = req.query().first("device").filter(v -> !v.isEmpty()).orElse(null);
        String function = req.query().first("function").filter(v -> !v.isEmpty()).orElse(null);
        if (device != null) {
            fleet.devices().device(device);
        }
        long after = number(req.query().first("after").orElse(null), "after", 0);
        Optional<String> tail = req.query().first("tail").asOptional();
        long limit = number(tail.orElse(req.query().first("limit").orElse(null)), tail.isPresent() ? "tail"
                : "limit", 1000);
        if (limit < 1 || limit > 10_000) {
            throw ApiError.badRequest((tail.isPresent() ? "tail " : "limit ") + limit + " is not allowed; use 1 to "
                    + "10000");
        }
        if (tail.isPresent() && after > 0) {
            throw ApiError.badRequest("tail takes the newest lines and cannot be combined with after; follow on from "
                    + "its 'next' with after");
        }
        List<Map<String, Object>> lines = telemetry.logs(device, function, 0, after, (int) limit, tail.isPresent());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("lines", lines);
        out.put("next", lines.isEmpty() ? after : lines.getLast().get("id"));
        send(res, 200, out);
    }

    private void publish(ServerRequest req, ServerResponse res) {
        admin(req);
        Path upload;
        try {
            Files.createDirectories(config.dataDir().resolve("incoming"));
            upload = Files.createTempFile(config.dataDir().resolve("incoming"), "upload-", ".zip");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            try (InputStream in = new Bounded(req.content().inputStream(), config.bundleMaxBytes());
                 OutputStream out = Files.newOutputStream(upload)) {
                in.transferTo(out);
            } catch (Bounded.TooLarge e) {
                throw new ApiError(413, "TooLarge", "the bundle is over " + config.bundleMaxBytes()
                        + " bytes (bundles.max-bytes)");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Catalog.Published p = fleet.catalog().publish(upload, req.headers().first(HeaderNames.create(
                    "X-Bramble-Signature")).orElse(null), req.headers().first(HeaderNames.create(
                    "X-Bramble-Bundle-Url")).orElse(null));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("function", p.function());
            out.put("version", p.version());
            out.put("sha256", p.sha256());
            out.put("keyId", p.keyId());
            out.put("created", p.created());
            send(res, p.created() ? 201 : 200, out);
        } finally {
            try {
                Files.deleteIfExists(upload);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "upload.cleanup-failed file={0}", upload);
            }
        }
    }

    /** A batch from a device's outbox, gzip-compressed or not; answered with how far its outbox is stored. */
    private void telemetry(ServerRequest req, ServerResponse res) {
        String id = ownDevice(req);
        TelemetryBatch batch;
        // Helidon has already undone Content-Encoding: gzip (GzipRequests); the bound is on the inflated bytes.
        try (InputStream in = new Bounded(req.content().inputStream(), TELEMETRY_MAX_BYTES)) {
            batch = JSON.readValue(in, TelemetryBatch.class);
        } catch (Bounded.TooLarge e) {
            throw new ApiError(413, "TooLarge", "the telemetry batch is over " + TELEMETRY_MAX_BYTES
                    + " bytes uncompressed; send smaller batches");
        } catch (IOException | UncheckedIOException e) {
            throw ApiError.badRequest("the body is not a telemetry batch (JSON, optionally gzip): " + e.getMessage());
        }
        if (batch == null || batch.entries() == null) {
            throw ApiError.badRequest("the body must be {\"outboxId\": ..., \"entries\": [...]}");
        }
        send(res, 200, telemetry.ingest(id, batch));
    }

    /** Reads at most a given number of bytes (an upload; a gzip body that must not inflate into the whole heap). */
    private static final class Bounded extends java.io.FilterInputStream {
        private long left;

        Bounded(InputStream in, long max) {
            super(in);
            this.left = max;
        }

        static final class TooLarge extends IOException {
            TooLarge() {
                super("too large");
            }
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0 && --left < 0) {
                throw new TooLarge();
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0 && (left -= n) < 0) {
                throw new TooLarge();
            }
            return n;
        }
    }

    private void desired(ServerRequest req, ServerResponse res) {
        String id = ownDevice(req);
        long after = number(req.query().first("after").orElse(null), "after", -1);
        int wait = (int) Math.min(config.longPollSeconds(), number(req.query().first("wait").orElse(null), "wait", 0));
        DesiredState d;
        try {
            d = fleet.desired().await(id, after, Duration.ofSeconds(Math.max(0, wait)));
        } catch (InterruptedException e) {
            // The deployer is stopping: the device asks again, here or at another replica.
            Thread.currentThread().interrupt();
            throw new ApiError(503, "Unavailable", "the deployer is stopping; ask again");
        }
        send(res, 200, d);
    }

    /** A bundle by digest, with {@code Range} so an interrupted download resumes. */
    private void bundle(ServerRequest req, ServerResponse res) {
        Caller caller = caller(req);
        String sha = req.path().pathParameters().get("sha256");
        if (!SHA256.matcher(sha).matches()) {
            throw ApiError.badRequest("'" + sha + "' is not a SHA-256 (64 lower-case hex digits)");
        }
        // Bundles carry environment values: a device gets only what its own desired state names, and the answer
        // does not say whether any other bundle exists.
        if (caller instanceof Caller.Device d && !fleet.desired().names(d.id(), sha)) {
            throw new ApiError(403, "Forbidden", "device " + d.id() + " may download only the bundles its desired "
                    + "state names, and it names no bundle " + sha);
        }
        byte[] b = fleet.catalog().bundle(sha);
        res.header(HeaderNames.ACCEPT_RANGES, "bytes").header(HeaderNames.CONTENT_TYPE, "application/zip");
        Optional<String> range = req.headers().first(HeaderNames.RANGE);
        if (range.isPresent()) {
            Matcher m = RANGE.matcher(range.get());
            // Digits past what a long holds, an end before the start, a start past the end: none can be served.
            long from = m.matches() && m.group(1).length() <= 18 ? Long.parseLong(m.group(1)) : Long.MAX_VALUE;
            long end = !m.matches() || m.group(2).isEmpty() ? b.length - 1L
                    : m.group(2).length() <= 18 ? Long.parseLong(m.group(2)) : Long.MAX_VALUE;
            if (from >= b.length || end < from) {
                res.header(HeaderNames.CONTENT_RANGE, "bytes */" + b.length);
                send(res, 416, Map.of("error", "RangeNotSatisfiable", "message", "Range '" + range.get()
                        + "' is not satisfiable; this bundle has " + b.length + " bytes: send bytes=FROM- or "
                        + "bytes=FROM-TO with FROM < " + b.length + " and TO >= FROM"));
                return;
            }
            int to = (int) Math.min(b.length - 1L, end);
            res.status(Status.PARTIAL_CONTENT_206).header(HeaderNames.CONTENT_RANGE, "bytes " + from + "-" + to + "/"
                    + b.length);
            res.send(java.util.Arrays.copyOfRange(b, (int) from, to + 1));
            return;
        }
        res.send(b);
    }

    private Caller caller(ServerRequest req) {
        String header = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
        if (!header.startsWith("Bearer ") || header.length() <= 7) {
            throw new ApiError(401, "Unauthorized", "send 'Authorization: Bearer <token>': the admin token, or a "
                    + "device token from enrolment");
        }
        String token = header.substring(7).trim();
        if (Tokens.same(token, adminToken)) {
            return new Caller.Admin();
        }
        if (!config.metricsToken().isEmpty() && Tokens.same(token, config.metricsToken())) {
            if (!req.path().path().equals("/metrics")) {
                throw new ApiError(403, "Forbidden", "metrics.token reaches GET /metrics only");
            }
            return new Caller.Scraper();
        }
        String device = fleet.devices().deviceForToken(token)
                .orElseThrow(() -> new ApiError(401, "Unauthorized", "the token is not known"));
        fleet.seen().mark(device);
        return new Caller.Device(device);
    }

    private void admin(ServerRequest req) {
        if (!(caller(req) instanceof Caller.Admin)) {
            throw new ApiError(403, "Forbidden", "this needs the admin token; a device token only reaches the "
                    + "device's own desired state, reports and bundles");
        }
    }

    /** The {id} of the path, which a device may only name as itself. */
    private String ownDevice(ServerRequest req) {
        String id = req.path().pathParameters().get("id");
        if (caller(req) instanceof Caller.Device d && !d.id().equals(id)) {
            throw new ApiError(403, "Forbidden", "device " + d.id() + " may not read or write device " + id);
        }
        return id;
    }

    private static long number(String value, String name, long dflt) {
        if (value == null || value.isEmpty()) {
            return dflt;
        }
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw ApiError.badRequest(name + " '" + value + "' is not a whole number");
        }
    }

    private static JsonNode body(ServerRequest req) {
        try {
            JsonNode n = JSON.readTree(req.content().as(byte[].class));
            if (n == null || !n.isObject()) {
                throw ApiError.badRequest("the body must be a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw ApiError.badRequest("the body is not JSON: " + e.getMessage());
        }
    }

    private static Map<String, String> strings(JsonNode n) {
        Map<String, String> out = new TreeMap<>();
        if (n != null && n.isObject()) {
            n.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        }
        return out;
    }

    static void send(ServerResponse res, int status, Object body) {
        try {
            res.status(Status.create(status)).header(HeaderNames.CONTENT_TYPE, "application/json")
                    .send(JSON.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void error(ServerResponse res, int status, String type, String message, List<String> problems) {
        if (res.isSent()) {
            return;
        }
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("type", type);
        b.put("message", message);
        if (!problems.isEmpty()) {
            b.put("problems", problems);
        }
        if (status == 401) {
            res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        res.headers().remove(HeaderNames.CONTENT_LENGTH);
        send(res, status, b);
    }
}
