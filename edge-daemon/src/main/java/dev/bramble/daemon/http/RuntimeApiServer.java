package dev.bramble.daemon.http;

import dev.bramble.daemon.env.RuntimeApiHub;
import dev.bramble.daemon.env.RuntimeApiPeer;
import dev.bramble.runtime.Channel;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Lambda's Runtime API ({@code /2018-06-01/runtime/…}) for every environment of a {@code provided}, {@code python3}
 * or {@code nodejs} function, on one loopback port that the sandbox's rules leave open to functions. A request is
 * served only for the environment its connection comes from ({@link RuntimeApiHub} traces it through the kernel's
 * socket tables), so an environment reaches its own invocations only; a request from anywhere else gets 403.
 * The calls, headers, statuses and error shapes are Lambda's (docs/decisions/0009-runtime-api.md).
 */
public final class RuntimeApiServer {
    private static final System.Logger LOG = System.getLogger(RuntimeApiServer.class.getName());
    static final String PREFIX = "/2018-06-01/runtime";
    /** The most an error object may be: Lambda's error bodies are small; a larger one is cut to this. */
    static final int MAX_ERROR_BYTES = 256 * 1024;

    private final WebServer server;
    private final HeaderDeadline headerDeadline;

    private RuntimeApiServer(WebServer server, HeaderDeadline headerDeadline) {
        this.server = server;
        this.headerDeadline = headerDeadline;
    }

    /** Starts the listener on a free loopback port and tells {@code hub} where it is. */
    public static RuntimeApiServer start(RuntimeApiHub hub) {
        WebServerConfig.Builder builder = WebServer.builder().host("127.0.0.1").port(0);
        // the long polls are requests in progress, never idle: only connections between requests are closed
        HeaderDeadline headerDeadline = HttpApi.slowClients(builder, Duration.ofSeconds(30));
        WebServer server = builder.routing(routing -> {
            routing.get(PREFIX + "/invocation/next", (req, res) -> next(peer(hub, req), res));
            routing.post(PREFIX + "/invocation/{id}/response", (req, res) -> {
                RuntimeApiPeer peer = peer(hub, req);
                String id = req.path().pathParameters().get("id");
                byte[] body;
                try {
                    body = Bodies.read(req, Channel.MAX_RESPONSE_BYTES, () -> new ApiException(413,
                            "RequestEntityTooLarge", "Exceeded maximum allowed payload size ("
                            + Channel.MAX_RESPONSE_BYTES + " bytes)."));
                } catch (ApiException tooLarge) {
                    // as on Lambda, the invocation fails with the size error; the runtime is told 413
                    peer.answer(id, false, dev.bramble.daemon.invoke.LambdaErrors.responseTooLarge());
                    throw tooLarge;
                }
                accepted(peer.answer(id, true, body), id, res);
            });
            routing.post(PREFIX + "/invocation/{id}/error", (req, res) -> {
                RuntimeApiPeer peer = peer(hub, req);
                String id = req.path().pathParameters().get("id");
                accepted(peer.answer(id, false, errorObject(req)), id, res);
            });
            routing.post(PREFIX + "/init/error", (req, res) -> {
                if (!peer(hub, req).initError(errorObject(req))) {
                    throw new ApiException(403, "InvalidStateTransition", "State transition from Ready to "
                            + "InitError failed for runtime. Error: State transition is not allowed");
                }
                res.status(Status.ACCEPTED_202).send(STATUS_OK);
            });
            RuntimeApiServer.errorsOf(routing);
        }).build();
        HttpApi.start(server, headerDeadline, "the Runtime API", "127.0.0.1:0");
        hub.listening(server.port());
        return new RuntimeApiServer(server, headerDeadline);
    }

    private static final byte[] STATUS_OK = "{\"status\":\"OK\"}".getBytes(StandardCharsets.UTF_8);

    /** Errors in the Runtime API's own shape: {@code errorMessage} and {@code errorType}, as Lambda's are. */
    private static void errorsOf(io.helidon.webserver.http.HttpRouting.Builder routing) {
        routing.error(ApiException.class, (req, res, e) -> fail(res, e.status(), e.type(), e.getMessage()))
                .error(io.helidon.http.HttpException.class, (req, res, e) -> fail(res, e.status().code(),
                        "InvalidRequest", e.status().code() == 404 ? "no such call: " + req.prologue().method().text() + " "
                                + req.path().rawPath() + "; the Runtime API has GET " + PREFIX + "/invocation/next, "
                                + "POST …/invocation/{id}/response, …/invocation/{id}/error and " + PREFIX
                                + "/init/error" : e.getMessage()))
                .error(Throwable.class, (req, res, e) -> {
                    LOG.log(Level.ERROR, "runtime-api.failed path=" + req.path().rawPath(), e);
                    fail(res, 500, "ServiceException", "internal error; the daemon's log has the detail");
                });
    }

    private static void fail(ServerResponse res, int status, String type, String message) {
        if (res.isSent()) {
            return;
        }
        res.status(Status.create(status)).header(HeaderNames.CONTENT_TYPE, "application/json")
                .send(dev.bramble.daemon.invoke.LambdaErrors.json(type, message));
    }

    /** The environment the request's connection comes from, or a 403 that says it is none of them. */
    private static RuntimeApiPeer peer(RuntimeApiHub hub, ServerRequest req) {
        InetSocketAddress client = (InetSocketAddress) req.remotePeer().address();
        return hub.peerOf(client).orElseThrow(() -> {
            LOG.log(Level.INFO, "runtime-api.refused client={0}", client);
            return new ApiException(403, "AccessDeniedException", "this connection does not come from an "
                    + "environment of this device: the Runtime API serves each environment only its own invocations");
        });
    }

    private static void next(RuntimeApiPeer peer, ServerResponse res) {
        CompletableFuture<Channel.Invoke> poll = peer.next();
        Channel.Invoke invoke;
        try {
            invoke = poll.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            peer.abandon(poll);
            throw new ApiException(500, "Runtime.Interrupted", "the daemon is stopping");
        } catch (ExecutionException e) {
            throw new ApiException(500, "Runtime.ExitError", "the environment is ending: "
                    + e.getCause().getMessage());
        }
        res.header(HeaderNames.create("Lambda-Runtime-Aws-Request-Id"), invoke.requestId());
        res.header(HeaderNames.create("Lambda-Runtime-Deadline-Ms"), Long.toString(invoke.deadlineEpochMs()));
        res.header(HeaderNames.create("Lambda-Runtime-Invoked-Function-Arn"), invoke.invokedArn());
        res.header(HeaderNames.create("Lambda-Runtime-Trace-Id"), traceId());
        if (invoke.clientContext() != null && !invoke.clientContext().isEmpty()) {
            res.header(HeaderNames.create("Lambda-Runtime-Client-Context"), invoke.clientContext());
        }
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        try {
            res.send(invoke.payload());
        } catch (RuntimeException e) {
            // the runtime closed its connection meanwhile: the invocation goes to its next poll
            peer.abandon(poll);
            throw e;
        }
    }

    /** An X-Ray trace header of Lambda's form, new for each invocation (nothing here samples). */
    private static String traceId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        byte[] id = new byte[12];
        byte[] parent = new byte[8];
        r.nextBytes(id);
        r.nextBytes(parent);
        return "Root=1-" + Long.toHexString(System.currentTimeMillis() / 1000) + "-" + HexFormat.of().formatHex(id)
                + ";Parent=" + HexFormat.of().formatHex(parent) + ";Sampled=0";
    }

    private static void accepted(boolean taken, String id, ServerResponse res) {
        if (!taken) {
            throw new ApiException(400, RuntimeApiPeer.INVALID_REQUEST_ID, "Invalid request ID: " + id
                    + " is not an invocation of this environment in progress");
        }
        res.status(Status.ACCEPTED_202).send(STATUS_OK);
    }

    /**
     * A runtime's error body as Lambda reports it: its JSON object when it sent one (errorType taken from
     * {@code Lambda-Runtime-Function-Error-Type} when the object has none), else an object made of the header and
     * the body's text.
     */
    private static byte[] errorObject(ServerRequest req) {
        byte[] body = Bodies.read(req, MAX_ERROR_BYTES, () -> new ApiException(413, "RequestEntityTooLarge",
                "an error object may be at most " + MAX_ERROR_BYTES + " bytes"));
        String type = req.headers().first(HeaderNames.create("Lambda-Runtime-Function-Error-Type"))
                .orElse("Unhandled");
        try {
            com.fasterxml.jackson.databind.JsonNode node = Json.MAPPER.readTree(body);
            if (node != null && node.isObject()) {
                com.fasterxml.jackson.databind.node.ObjectNode o = (com.fasterxml.jackson.databind.node.ObjectNode) node;
                if (!o.hasNonNull("errorType")) {
                    o.put("errorType", type);
                }
                return Json.MAPPER.writeValueAsBytes(o);
            }
        } catch (java.io.IOException e) {
            // not JSON: reported as text
        }
        return dev.bramble.daemon.invoke.LambdaErrors.json(type, new String(body, StandardCharsets.UTF_8));
    }

    /** The port it listens on (127.0.0.1). */
    public int port() {
        return server.port();
    }

    /** Stops the listener. Idempotent. */
    public void stop() {
        server.stop();
        headerDeadline.close();
    }
}
