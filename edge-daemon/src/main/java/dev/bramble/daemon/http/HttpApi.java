package dev.bramble.daemon.http;

import dev.bramble.daemon.config.Option;
import dev.bramble.daemon.agent.Agent;
import dev.bramble.daemon.async.AsyncQueue;
import dev.bramble.daemon.async.QueueFullException;
import dev.bramble.daemon.env.ClassDataArchives;
import dev.bramble.daemon.env.Environments;
import dev.bramble.daemon.env.ThrottledException;
import dev.bramble.daemon.function.FunctionRegistry;
import dev.bramble.daemon.function.NotFoundException;
import dev.bramble.daemon.function.StorageException;
import dev.bramble.daemon.invoke.Invoker;
import dev.bramble.daemon.logs.LogStore;
import dev.bramble.daemon.trigger.ListenerException;
import dev.bramble.daemon.trigger.Triggers;
import dev.bramble.console.Console;
import dev.bramble.protocol.BundleException;
import dev.bramble.daemon.metrics.Metrics;
import dev.bramble.sandbox.Sandbox;
import dev.bramble.sync.SyncAgent;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerResponse;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The daemon's one HTTP listener and its routes. Each exception type has its own handler; anything else is a
 * generic 500 that says nothing of the internals and logs the detail under an id.
 */
public final class HttpApi {
    /** The address of the HTTP listener. */
    public static final Option.Text BIND = Option.text("http.bind", "127.0.0.1", "an IP address or host name",
            "address of the HTTP listener (Invoke API, Function URLs, status, local deploy)").resolvableHost();
    public static final Option<Integer> PORT = Option.integer("http.port", 9000, 0, 65_535, "",
            "HTTP port; 0 picks a free one");
    public static final Option<Integer> IDLE_TIMEOUT = Option.integer("http.idle-timeout-seconds", 30, 1, 3600, "s",
            "a connection is closed that sends no next request this long, or takes longer for its request line and "
                    + "headers");
    public static final Option.Text ADMIN_TOKEN = Option.text("admin.token", "",
            "a string of at least 16 characters, or empty", "bearer token every /v1 route but health and GET "
                    + "/metrics need, from any address; empty: one is generated into <data-dir>/admin.token (0600, "
                    + "root only)").secret();

    private static final System.Logger LOG = System.getLogger(HttpApi.class.getName());
    private static final String ERROR_TYPE = "X-Amzn-ErrorType";

    private final WebServer server;
    private final HeaderDeadline headerDeadline;

    private HttpApi(WebServer server, HeaderDeadline headerDeadline) {
        this.server = server;
        this.headerDeadline = headerDeadline;
    }

    /**
     * Everything the routes need.
     *
     * @param bind           listen address
     * @param port           listen port, 0 for any
     * @param version        the daemon's version
     * @param startedAt      when the daemon started
     * @param adminToken     the bearer token every admin route needs
     * @param bundleMaxBytes largest deployment body
     * @param accountId      the account id in events and ARNs
     * @param allowUnsigned  local deployments may be unsigned (development)
     * @param trustedKeys    the keys local deployments must be signed by
     */
    public record Settings(String bind, int port, String version, Instant startedAt, String adminToken,
                           long bundleMaxBytes, String accountId, boolean allowUnsigned,
                           java.nio.file.Path trustedKeys, java.nio.file.Path dataDir,
                           java.time.Duration idleTimeout) {
    }

    /** Starts the listener. */
    public static HttpApi start(Settings settings, FunctionRegistry registry, Environments environments,
                                Invoker invoker, AsyncQueue queue, Triggers triggers, Agent agent, LogStore logs,
                                Sandbox sandbox, ClassDataArchives archives, Metrics metrics, SyncAgent sync,
                                Clock clock) {
        InvokeApi invoke = new InvokeApi(invoker, queue);
        FunctionUrls urls = new FunctionUrls(invoker, clock, settings.accountId());
        AdminApi admin = new AdminApi(registry, environments, archives, invoker, queue, triggers, agent, logs, sandbox,
                metrics, sync, clock,
                new AdminApi.Facts(settings.version(), settings.startedAt(), settings.adminToken(),
                        settings.bundleMaxBytes(), settings.allowUnsigned(), settings.trustedKeys(),
                        settings.dataDir()));
        WebServerConfig.Builder builder = WebServer.builder().host(settings.bind()).port(settings.port());
        HeaderDeadline headerDeadline = slowClients(builder, settings.idleTimeout());
        WebServer server = builder
                .routing(routing -> {
                    routing.addFilter((chain, req, res) -> {
                        if (hasDotSegment(req.path().rawPath())) {
                            error(res, 400, "InvalidRequestException", "the path '" + req.path().rawPath()
                                    + "' has '.' or '..' segments; request the resource's own path", List.of(),
                                    Map.of());
                            return;
                        }
                        chain.proceed();
                    });
                    invoke.register(routing);
                    new LambdaFunctionsApi(registry, invoker, settings.adminToken(), clock).register(routing);
                    urls.register(routing);
                    admin.register(routing);
                    Console.register(routing, "dev/bramble/daemon/console");
                    errors(routing);
                })
                .build();
        start(server, headerDeadline, "http.bind/http.port", settings.bind() + ":" + settings.port());
        return new HttpApi(server, headerDeadline);
    }

    /**
     * Starts a listener, or throws: Helidon logs a bind that fails and runs on without the listener (its port is
     * then -1), and a daemon without its API would still tell systemd it is ready.
     */
    static void start(WebServer server, HeaderDeadline headerDeadline, String listener, String address) {
        try {
            server.start();
        } catch (RuntimeException e) {
            headerDeadline.close();
            throw new ListenerException(listener, address, e);
        }
        if (!server.isRunning() || server.port() < 0) {
            server.stop();
            headerDeadline.close();
            throw new ListenerException(listener, address, null);
        }
    }

    /**
     * What every listener of the daemon does about slow or silent clients and about Helidon's own errors: a
     * kept-alive connection that sends no next request within {@code idleTimeout} is closed, and so is one whose
     * request line or headers take longer than that (Helidon's idle check covers the first two, {@link
     * HeaderDeadline} the headers); Helidon's 400/413/414 get a body of our error shape.
     *
     * @return the header deadline, to be closed with the server
     */
    static HeaderDeadline slowClients(WebServerConfig.Builder builder, java.time.Duration idleTimeout) {
        java.time.Duration period = idleTimeout.dividedBy(4).compareTo(java.time.Duration.ofSeconds(1)) < 0
                ? java.time.Duration.ofSeconds(1) : idleTimeout.dividedBy(4);
        HeaderDeadline headerDeadline = new HeaderDeadline(idleTimeout, period);
        builder.idleConnectionTimeout(idleTimeout)
                .idleConnectionPeriod(period)
                // ours instead of the discovered HTTP/1.1 configuration, not beside it: with two, Helidon waits for
                // a connection's first bytes to choose, and a connection that sends none escapes the idle check
                .protocolsDiscoverServices(false)
                .addProtocol(Http1Config.builder().addReceiveListener(headerDeadline).build())
                .directHandlers(directHandlers());
        return headerDeadline;
    }

    /**
     * Whether a path has "." or ".." segments, plain or percent-encoded. Routes are matched after the server
     * normalises a path, so "/2015-03-31/functions/x/../../../v1/deployments" would reach an admin route through
     * the Invoke API's prefix: such a request is refused before routing.
     */
    static boolean hasDotSegment(String rawPath) {
        if (rawPath.indexOf('.') < 0 && rawPath.indexOf('%') < 0) {
            return false; // every request but a few: no dot, escaped or not
        }
        String p = rawPath.replaceAll("(?i)%2e", ".").replaceAll("(?i)%2f", "/").replaceAll("(?i)%5c", "/")
                .replace('\\', '/');
        for (String segment : p.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return true;
            }
        }
        return false;
    }

    static void errors(HttpRouting.Builder routing) {
        routing.error(ApiException.class, (req, res, e) -> error(res, e.status(), e.type(), e.getMessage(),
                        e.problems(), e.headers()))
                .error(NotFoundException.class, (req, res, e) -> error(res, 404, "ResourceNotFoundException",
                        e.getMessage(), List.of(), Map.of()))
                .error(QueueFullException.class, (req, res, e) -> error(res, 429, "TooManyRequestsException",
                        e.getMessage(), List.of(), Map.of("Retry-After", "1")))
                .error(ThrottledException.class, (req, res, e) -> error(res, 429, "TooManyRequestsException",
                        e.getMessage(), List.of(), Map.of("Retry-After", "1")))
                .error(BundleException.class, (req, res, e) -> error(res, 400, "InvalidBundleException",
                        e.getMessage(), e.problems(), Map.of()))
                .error(io.helidon.http.HttpException.class, (req, res, e) -> {
                    // Helidon's own: no route matched (404), or a request it could not read (400, 413…).
                    int status = e.status().code();
                    if (Console.notModified(e, res)) {
                        return;
                    }
                    if (status == 404) {
                        error(res, 404, "ResourceNotFoundException", "no route for " + req.prologue().method().text()
                                + " " + req.path().rawPath() + "; docs/operators.md lists the daemon's API",
                                List.of(), Map.of());
                    } else {
                        error(res, status, status == 413 ? "RequestTooLargeException"
                                : status >= 500 ? "ServiceException" : "InvalidRequestException", e.getMessage(),
                                List.of(), Map.of());
                    }
                })
                .error(StorageException.class, (req, res, e) -> {
                    LOG.log(Level.ERROR, "http.storage-failed method=" + req.prologue().method().text() + " path="
                            + req.path().rawPath() + " error=" + e.getMessage());
                    if (diskFull(e)) {
                        diskFull(res);
                    } else {
                        error(res, 500, "ServiceException", e.getMessage(), List.of(), Map.of());
                    }
                })
                .error(Throwable.class, (req, res, e) -> {
                    if (diskFull(e)) {
                        LOG.log(Level.ERROR, "http.disk-full method=" + req.prologue().method().text() + " path="
                                + req.path().rawPath() + " error=" + e);
                        diskFull(res);
                        return;
                    }
                    String id = UUID.randomUUID().toString();
                    LOG.log(Level.ERROR, "http.unhandled id=" + id + " method=" + req.prologue().method().text()
                            + " path=" + req.path().rawPath(), e);
                    error(res, 500, "ServiceException", "internal error " + id + "; the daemon's log has the detail",
                            List.of(), Map.of());
                });
    }

    /**
     * What Helidon answers itself, before any route (headers too large, a URI too long, a request it cannot
     * parse): the status it chose, with a body of the API's error shape that says what was wrong.
     */
    static io.helidon.webserver.http.DirectHandlers directHandlers() {
        io.helidon.http.DirectHandler handler = (request, event, status, headers, message) -> {
            int code = status.code();
            String type = code == 413 || code == 414 || code == 431 ? "RequestTooLargeException"
                    : code >= 500 ? "ServiceException" : "InvalidRequestException";
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("Type", code >= 500 ? "Service" : "User");
            body.put("message", "the request could not be read: " + code + " " + status.reasonPhrase()
                    + (message == null || message.isBlank() ? "" : " (" + message + ")")
                    + "; it must be well-formed HTTP/1.1, with a request line of at most 4096 bytes and headers of "
                    + "at most 16384 in all");
            byte[] bytes;
            try {
                bytes = Json.MAPPER.writeValueAsBytes(body);
            } catch (java.io.IOException e) {
                bytes = new byte[0];
            }
            return io.helidon.http.DirectHandler.TransportResponse.builder().status(status).headers(headers)
                    .header(HeaderNames.CONTENT_TYPE, "application/json").header(HeaderNames.create(ERROR_TYPE), type)
                    .entity(bytes).keepAlive(false).build();
        };
        io.helidon.webserver.http.DirectHandlers.Builder b = io.helidon.webserver.http.DirectHandlers.builder();
        for (io.helidon.http.DirectHandler.EventType t : io.helidon.http.DirectHandler.EventType.values()) {
            b.addHandler(t, handler);
        }
        return b.build();
    }

    /**
     * Whether a failure was the data disk being full: ENOSPC from a file write, or SQLite's SQLITE_FULL from the
     * state database.
     */
    static boolean diskFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.sqlite.SQLiteException s && (s.getErrorCode() & 0xff) == 13) {
                return true;
            }
            String m = t.getMessage();
            if (m != null && (m.contains("No space left on device") || m.contains("SQLITE_FULL"))) {
                return true;
            }
        }
        return false;
    }

    private static void diskFull(ServerResponse res) {
        error(res, 507, "InsufficientStorageException", "no space left on device: the daemon's data disk is full; "
                + "nothing was stored. Free space there (see /v1/status dataDisk) and retry", List.of(), Map.of());
    }

    private static void error(ServerResponse res, int status, String type, String message, List<String> problems,
                              Map<String, String> headers) {
        if (res.isSent()) {
            return;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("Type", status >= 500 ? "Service" : "User");
        body.put("message", message);
        if (!problems.isEmpty()) {
            body.put("problems", problems);
        }
        res.header(ERROR_TYPE, type);
        headers.forEach(res::header);
        res.headers().remove(HeaderNames.CONTENT_LENGTH);
        Json.send(res, status, body);
    }

    /** The port the listener is bound to. */
    public int port() {
        return server.port();
    }

    /** Stops the listener. Idempotent. */
    public void stop() {
        if (server.isRunning()) {
            server.stop();
        }
        headerDeadline.close();
    }
}
