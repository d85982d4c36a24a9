package dev.bramble.daemon.http;

import dev.bramble.daemon.agent.Agent;
import dev.bramble.daemon.async.AsyncQueue;
import dev.bramble.daemon.async.DeadLetter;
import dev.bramble.daemon.env.Environment;
import dev.bramble.daemon.env.ClassDataArchives;
import dev.bramble.daemon.env.Environments;
import dev.bramble.daemon.env.InitFailedException;
import dev.bramble.daemon.env.ThrottledException;
import dev.bramble.daemon.function.Deployment;
import dev.bramble.daemon.function.FunctionRegistry;
import dev.bramble.daemon.function.FunctionState;
import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.function.NotFoundException;
import dev.bramble.daemon.function.TestEvents;
import dev.bramble.daemon.invoke.Payloads;
import dev.bramble.daemon.invoke.Invoker;
import dev.bramble.daemon.logs.LogEvent;
import dev.bramble.daemon.logs.LogStore;
import dev.bramble.daemon.store.Trees;
import dev.bramble.daemon.trigger.Triggers;
import dev.bramble.protocol.Bundle;
import dev.bramble.protocol.SignatureException;
import dev.bramble.protocol.Signing;
import dev.bramble.daemon.metrics.Metrics;
import dev.bramble.sandbox.Sandbox;
import dev.bramble.sync.SyncAgent;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The daemon's own API: health, status, functions, logs, dead letters, metrics and local deployment. Every route
 * but health needs the admin token, from any address: loopback is not a credential, since functions and every
 * other user of the device share it (docs/decisions/0007-admin-credential-and-function-reach.md).
 */
final class AdminApi {
    private static final int DEFAULT_LOG_LIMIT = 100;
    private static final int MAX_LOG_LIMIT = 10_000;

    /**
     * What the admin API reads.
     *
     * @param version        the daemon's version
     * @param startedAt      when the daemon started
     * @param adminToken     the bearer token every route but health needs
     * @param bundleMaxBytes largest deployment body
     */
    record Facts(String version, Instant startedAt, String adminToken, long bundleMaxBytes, boolean allowUnsigned,
                 Path trustedKeys, Path dataDir) {
    }

    private final FunctionRegistry registry;
    private final Environments environments;
    private final ClassDataArchives archives;
    private final Invoker invoker;
    private final AsyncQueue queue;
    private final Triggers triggers;
    private final Agent agent;
    private final LogStore logs;
    private final Sandbox sandbox;
    private final Metrics metrics;
    private final SyncAgent sync;
    private final Clock clock;
    private final Facts facts;

    AdminApi(FunctionRegistry registry, Environments environments, ClassDataArchives archives, Invoker invoker,
             AsyncQueue queue, Triggers triggers, Agent agent, LogStore logs, Sandbox sandbox, Metrics metrics,
             SyncAgent sync, Clock clock, Facts facts) {
        this.metrics = metrics;
        this.sync = sync;
        this.agent = agent;
        this.queue = queue;
        this.triggers = triggers;
        this.registry = registry;
        this.environments = environments;
        this.archives = archives;
        this.invoker = invoker;
        this.logs = logs;
        this.sandbox = sandbox;
        this.clock = clock;
        this.facts = facts;
    }

    void register(HttpRouting.Builder routing) {
        routing.get("/v1/health", (req, res) -> Json.send(res, 200, Map.of("status", "ok")))
                .get("/v1/status", admin(this::status))
                .get("/metrics", admin(this::metrics))
                .get("/v1/functions", admin(this::functions))
                .get("/v1/functions/{name}", admin(this::function))
                .delete("/v1/functions/{name}", admin(this::removeFunction))
                .get("/v1/functions/{name}/logs", admin(this::logs))
                .get("/v1/functions/{name}/test-events", admin(this::testEvents))
                .put("/v1/functions/{name}/test-events/{event}", admin(this::saveTestEvent))
                .delete("/v1/functions/{name}/test-events/{event}", admin(this::deleteTestEvent))
                .get("/v1/metrics/history", admin(this::history))
                .get("/v1/dead-letters", admin(this::deadLetters))
                .delete("/v1/functions/{name}/environments", admin(this::recycle))
                .post("/v1/deployments", admin(this::deploy));
    }

    /**
     * A route that needs the admin token. The check is part of the handler, not a filter on paths: whatever path
     * the server's normalisation brings to a handler, the handler asks for the token.
     */
    private Handler admin(Handler route) {
        return (req, res) -> {
            authorize(req);
            route.handle(req, res);
        };
    }

    /**
     * {@code /v1/status}, in the order it is shown; each part is its owner's.
     *
     * @param agent an {@link Agent.Status}, or {@link Off} without a deployer
     * @param sync  the telemetry link's state, or {@link OffLink}
     */
    record Status(String version, String startedAt, long uptimeSeconds, Isolation isolation, List<String> functions,
                  List<Map<String, Object>> environments, Memory memory, Map<String, Object> dataDisk,
                  String stateRecovery, long logLinesDropped, String logWriteError, AsyncQueue.Status async,
                  List<Map<String, Object>> triggers, Triggers.ListenerStatus mqtt, Triggers.ListenerStatus coap,
                  Object agent, Object sync) {
    }

    /** How functions are contained here: the mode, the cgroup version, and what is missing for full isolation. */
    record Isolation(String mode, String cgroups, List<String> missing) {
    }

    /** The environments' memory budget and what their limits take of it. */
    record Memory(long budgetMb, long usedMb) {
    }

    /** A part that is off, and why. */
    record Off(String state, String reason) {
    }

    private void status(ServerRequest req, ServerResponse res) {
        Sandbox.Isolation iso = sandbox.isolation();
        Triggers.Status t = triggers.status();
        String noDeployer = "agent.deployer-url is not configured";
        Json.send(res, 200, new Status(facts.version(), facts.startedAt().toString(),
                Duration.between(facts.startedAt(), clock.instant()).toSeconds(),
                new Isolation(iso.mode(), iso.cgroups(), iso.missing()),
                registry.functions().stream().map(FunctionState::name).toList(),
                environments.environments().stream().map(this::environment).toList(),
                new Memory(environments.budgetMb(), environments.usedMb()), dataDisk(),
                registry.recovery().orElse(null), logs.dropped(), logs.lastError().orElse(null), queue.status(),
                t.triggers(), t.mqtt(), t.coap(), agent == null ? new Off("off", noDeployer) : agent.status(),
                sync != null ? sync.status() : new OffLink("off", agent == null ? noDeployer : "sync.enabled is false")));
    }

    /** The telemetry link when off: the sync agent's own status says {@code link}, not {@code state}. */
    record OffLink(String link, String reason) {
    }

    /** The data directory's file system: how much is left for bundles, logs, the queue and the outbox. */
    private Map<String, Object> dataDisk() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("path", facts.dataDir().toString());
        try {
            java.nio.file.FileStore store = java.nio.file.Files.getFileStore(facts.dataDir());
            out.put("freeMb", store.getUsableSpace() >> 20);
            out.put("totalMb", store.getTotalSpace() >> 20);
        } catch (java.io.IOException e) {
            out.put("error", e.toString());
        }
        return out;
    }

    /** Prometheus text exposition of the daemon's metrics. */
    private void metrics(ServerRequest req, ServerResponse res) throws java.io.IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(16 * 1024);
        metrics.write(out);
        res.header(io.helidon.http.HeaderNames.CONTENT_TYPE, metrics.contentType()).send(out.toByteArray());
    }

    private void functions(ServerRequest req, ServerResponse res) {
        Json.send(res, 200, Map.of("functions", registry.functions().stream().map(f -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", f.name());
            m.put("description", f.latest().manifest().description());
            m.put("versions", f.versions().keySet());
            m.put("aliases", new TreeMap<>(f.aliases()));
            return m;
        }).toList()));
    }

    /** Lambda's DeleteFunction: every version, alias and saved test event; running invocations finish first. */
    private void removeFunction(ServerRequest req, ServerResponse res) {
        String name = existing(req);
        List<Integer> versions = registry.remove(name);
        Json.send(res, 200, Map.of("function", name, "deletedVersions", versions));
    }

    private void function(ServerRequest req, ServerResponse res) {
        String name = req.path().pathParameters().get("name");
        FunctionState f = registry.function(name).orElseThrow(() -> new NotFoundException("Function not found: "
                + name + "; deployed: " + registry.functions().stream().map(FunctionState::name).toList()));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", f.name());
        out.put("aliases", new TreeMap<>(f.aliases()));
        if (!f.routing().isEmpty()) {
            // An alias's canary: {"live": {"version": 4, "weight": 0.1}} sends one call in ten to version 4.
            out.put("routing", new TreeMap<>(f.routing()));
        }
        out.put("versions", f.versions().values().stream().map(AdminApi::version).toList());
        out.put("environments", environments.environments().stream()
                .filter(e -> e.version().function().equals(name)).map(this::environment).toList());
        out.put("counts", invoker.stats(name).snapshot());
        Json.send(res, 200, out);
    }

    private static Map<String, Object> version(FunctionVersion v) {
        Map<String, Object> m = new LinkedHashMap<>();
        var manifest = v.manifest();
        m.put("version", v.version());
        m.put("sha256", v.sha256());
        m.put("size", v.size());
        m.put("createdAt", v.createdAt().toString());
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("handler", manifest.handler());
        config.put("runtime", manifest.runtime());
        config.put("memoryMb", manifest.memoryMb());
        config.put("timeoutSeconds", manifest.timeoutSeconds());
        config.put("tmpMb", manifest.tmpMb());
        config.put("description", manifest.description());
        // Values may be secrets; the names are enough to check a deployment.
        config.put("environment", new TreeMap<>(manifest.environment()).keySet());
        manifest.concurrency().reserved().ifPresent(r -> config.put("reservedConcurrency", r));
        m.put("config", config);
        return m;
    }

    private Map<String, Object> environment(Environment e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("function", e.version().function());
        m.put("version", e.version().version());
        m.put("stream", e.stream());
        boolean alive = e.alive();
        // One that died between two looks of the reaper is shown as what it is, not as ready to serve.
        m.put("state", alive || e.state() == Environment.State.STOPPING ? e.state().name() : "DEAD");
        m.put("frozen", e.frozen());
        m.put("pid", e.jvmPid());
        m.put("sandboxPid", e.pid());
        var usage = e.usage();
        Map<String, Object> memory = new LinkedHashMap<>();
        memory.put("currentBytes", usage.memoryBytes());
        memory.put("peakBytes", usage.memoryPeakBytes());
        memory.put("limitMb", e.version().manifest().memoryMb());
        m.put("memory", memory);
        m.put("cpu", Map.of("throttledNanos", usage.cpuThrottledNanos(), "throttledPeriods",
                usage.cpuThrottledPeriods()));
        m.put("pids", usage.pids());
        m.put("invocations", e.invocations());
        m.put("initMs", e.initNanos() / 1_000_000);
        m.put("provisioned", e.provisioned());
        m.put("startedAt", e.startedAt().toString());
        m.put("lastUsedAt", e.lastUsed().toString());
        return m;
    }

    private void recycle(ServerRequest req, ServerResponse res) {
        String name = existing(req);
        Json.send(res, 200, Map.of("function", name, "stopped", environments.recycle(name)));
    }

    private void logs(ServerRequest req, ServerResponse res) {
        String name = existing(req);
        long since = since(req.query().first("since").orElse(null));
        long after = number(req.query().first("after").orElse(null), "after", 0, Long.MAX_VALUE, 0);
        int limit = (int) number(req.query().first("limit").orElse(null), "limit", 1, MAX_LOG_LIMIT,
                DEFAULT_LOG_LIMIT);
        String stream = req.query().first("stream").orElse(null);
        String tail = req.query().first("tail").orElse(null);
        if (tail != null && (since > 0 || after > 0)) {
            throw ApiException.badParameter("tail takes the newest lines and cannot be combined with since or after; "
                    + "follow on from its 'next' with after");
        }
        List<LogEvent> events = tail != null
                ? logs.tail(name, stream, (int) number(tail, "tail", 1, MAX_LOG_LIMIT, DEFAULT_LOG_LIMIT))
                : logs.query(name, since, after, stream, limit);
        List<Map<String, Object>> out = new ArrayList<>();
        for (LogEvent e : events) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", e.id());
            m.put("time", Instant.ofEpochMilli(e.epochMs()).toString());
            m.put("stream", e.stream());
            m.put("requestId", e.requestId());
            m.put("message", e.message());
            out.add(m);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("function", name);
        body.put("events", out);
        body.put("next", events.isEmpty() ? after : events.getLast().id());
        Json.send(res, 200, body);
    }

    /** The last hour minute by minute, every function or {@code ?function=} one. */
    private void history(ServerRequest req, ServerResponse res) {
        String function = req.query().first("function").orElse(null);
        if (function != null) {
            existing(function);
        }
        Json.send(res, 200, invoker.history().view(function));
    }

    private void testEvents(ServerRequest req, ServerResponse res) {
        String name = existing(req);
        List<Map<String, Object>> out = new ArrayList<>();
        for (TestEvents.Saved e : registry.testEvents().list(name)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", e.name());
            m.put("event", Json.tree(e.event().getBytes(StandardCharsets.UTF_8)));
            m.put("updatedAt", e.updatedAt().toString());
            out.add(m);
        }
        Json.send(res, 200, Map.of("function", name, "testEvents", out, "max", TestEvents.MAX_PER_FUNCTION));
    }

    /** {@code PUT} a test event: its body is the event, JSON of up to 256 KB, as an asynchronous Invoke takes. */
    private void saveTestEvent(ServerRequest req, ServerResponse res) {
        String name = existing(req);
        String event = testEventName(req);
        byte[] body = Bodies.read(req, TestEvents.MAX_EVENT_BYTES, () -> ApiException.tooLarge(TestEvents.MAX_EVENT_BYTES,
                "Saving a test event"));
        String problem = body.length == 0 ? "the body is empty" : Payloads.problem(body);
        if (problem != null) {
            throw ApiException.badContent("test event " + event + " is not JSON (" + problem + "); send the event "
                    + "as the request body, as you would send it to Invoke");
        }
        boolean created;
        try {
            created = registry.testEvents().put(name, event, new String(body, StandardCharsets.UTF_8));
        } catch (TestEvents.FullException e) {
            throw ApiException.badParameter(e.getMessage());
        }
        Json.send(res, created ? 201 : 200, Map.of("function", name, "name", event, "created", created));
    }

    private void deleteTestEvent(ServerRequest req, ServerResponse res) {
        String name = existing(req);
        String event = testEventName(req);
        if (!registry.testEvents().delete(name, event)) {
            throw new NotFoundException("Test event not found: " + event + " of " + name);
        }
        Json.send(res, 200, Map.of("function", name, "name", event, "deleted", true));
    }

    /** The {@code {name}} of the path, a function that exists. */
    private String existing(ServerRequest req) {
        return existing(req.path().pathParameters().get("name"));
    }

    private String existing(String name) {
        registry.function(name).orElseThrow(() -> new NotFoundException("Function not found: " + name));
        return name;
    }

    private static String testEventName(ServerRequest req) {
        String event = req.path().pathParameters().get("event");
        if (!TestEvents.NAME.matcher(event).matches()) {
            throw ApiException.badParameter("test event name '" + event + "' is not allowed; use 1 to 25 letters, "
                    + "digits, '.', '-' or '_', as Lambda's console does");
        }
        return event;
    }

    /** Dead letters, newest first: {@code ?function=}, {@code ?before=<id>} to page back, {@code ?limit=}. */
    private void deadLetters(ServerRequest req, ServerResponse res) {
        String function = req.query().first("function").orElse(null);
        long before = number(req.query().first("before").orElse(null), "before", 0, Long.MAX_VALUE, 0);
        int limit = (int) number(req.query().first("limit").orElse(null), "limit", 1, 1_000, DEFAULT_LOG_LIMIT);
        List<Map<String, Object>> out = new ArrayList<>();
        for (DeadLetter d : queue.deadLetters(function, before, limit)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", d.id());
            m.put("requestId", d.requestId());
            m.put("function", d.function());
            if (d.qualifier() != null) {
                m.put("qualifier", d.qualifier());
            }
            m.put("source", d.source());
            m.put("reason", d.reason().json());
            m.put("attempts", d.attempts());
            m.put("enqueuedAt", d.enqueuedAt().toString());
            m.put("failedAt", d.failedAt().toString());
            m.put("event", Payloads.problem(d.payload()) == null ? Json.tree(d.payload()) : null);
            m.put("error", d.error() == null ? null : Payloads.problem(d.error().getBytes(StandardCharsets.UTF_8)) == null
                    ? Json.tree(d.error().getBytes(StandardCharsets.UTF_8)) : d.error());
            out.add(m);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("deadLetters", out);
        body.put("next", out.isEmpty() ? 0 : out.getLast().get("id"));
        Json.send(res, 200, body);
    }

    private static long since(String value) {
        if (value == null || value.isEmpty()) {
            return 0;
        }
        try {
            return value.chars().allMatch(Character::isDigit) ? Long.parseLong(value)
                    : Instant.parse(value).toEpochMilli();
        } catch (NumberFormatException | DateTimeParseException e) {
            throw ApiException.badParameter("since '" + value + "' is not a time; use an ISO-8601 instant such as "
                    + "2026-11-22T10:00:00Z or epoch milliseconds");
        }
    }

    private static long number(String value, String param, long min, long max, long dflt) {
        if (value == null || value.isEmpty()) {
            return dflt;
        }
        try {
            long n = Long.parseLong(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ApiException.badParameter(param + " '" + value + "' is not allowed; use a whole number from " + min
                + " to " + max);
    }

    private void deploy(ServerRequest req, ServerResponse res) {
        String alias = req.query().first("alias").orElse(FunctionRegistry.LIVE);
        Double weight = weight(req.query().first("weight").orElse(null));
        Path upload;
        try {
            upload = registry.newUploadFile();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            Bodies.copy(req, upload, facts.bundleMaxBytes(), () -> ApiException.tooLarge(facts.bundleMaxBytes(),
                    "Deploy"));
        } catch (RuntimeException e) {
            Trees.deleteQuietly(upload);
            throw e;
        }
        if (!facts.allowUnsigned()) {
            verifySignature(req, upload);
        }
        Deployment d = registry.deploy(upload, alias, weight);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("function", d.function());
        out.put("version", d.version());
        out.put("sha256", d.sha256());
        out.put("alias", d.alias());
        if (weight != null) {
            out.put("weight", weight);
        }
        out.put("created", d.created());
        FunctionVersion v = registry.resolve(d.function(), Integer.toString(d.version()));
        if (d.alias().equals(FunctionRegistry.LIVE)) {
            try {
                out.put("provisioned", environments.provision(v));
            } catch (InitFailedException | ThrottledException e) {
                out.put("provisioned", 0);
                out.put("provisionError", e.getMessage());
            }
        }
        // After provisioning, which has first claim on the version's environments; training takes what is left.
        archives.afterDeploy(v);
        res.header(HeaderNames.LOCATION, "/v1/functions/" + d.function());
        Json.send(res, d.created() ? 201 : 200, out);
    }

    /** A canary deployment's share of the alias's invocations: absent, or a number from 0 to 1. */
    private static Double weight(String value) {
        if (value == null) {
            return null;
        }
        try {
            double w = Double.parseDouble(value);
            if (dev.bramble.daemon.function.FunctionState.Routing.allowed(w)) {
                return w;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ApiException.badParameter("weight '" + value + "' is not allowed; use a share from 0.0 to 1.0 of the "
                + "alias's invocations for the new version (0.1 sends it one call in ten)");
    }

    /** Signed bundles only, unless security.allow-unsigned: the signature by a key in agent.trusted-keys. */
    private void verifySignature(ServerRequest req, Path upload) {
        String header = req.headers().first(io.helidon.http.HeaderNames.create("X-Bramble-Signature")).orElse("");
        try {
            if (header.isBlank()) {
                throw new SignatureException(SignatureException.Code.MISSING, "deployments must be signed: send the "
                        + "signature (bramble bundle sign) in X-Bramble-Signature, or set security.allow-unsigned: "
                        + "true for development");
            }
            Signing.verify(Bundle.sha256(upload), Signing.BundleSignature.parse(header), Signing.trustedKeys(
                    facts.trustedKeys()));
        } catch (SignatureException e) {
            Trees.deleteQuietly(upload);
            throw new ApiException(400, "InvalidSignatureException", e.code() + ": " + e.getMessage());
        }
    }

    private void authorize(ServerRequest req) {
        String given = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
        if (given.isEmpty()) {
            throw new ApiException(401, "UnauthorizedException", "this route needs the device's admin token: send "
                    + "'Authorization: Bearer <token>', the token in <data-dir>/admin.token (readable by root only) "
                    + "or admin.token in bramble.yaml", List.of(), Map.of("WWW-Authenticate", "Bearer"));
        }
        checkBearer(given, facts.adminToken());
    }

    /** A 403 unless {@code given} is {@code Bearer <adminToken>}, compared in constant time. */
    static void checkBearer(String given, String adminToken) {
        String expected = "Bearer " + adminToken;
        if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8))) {
            throw new ApiException(403, "AccessDeniedException", "the admin token is wrong; it is in "
                    + "<data-dir>/admin.token (readable by root only), or admin.token in bramble.yaml");
        }
    }
}
