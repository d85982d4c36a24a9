package dev.bramble.daemon.http;

import dev.bramble.daemon.async.AsyncQueue;
import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.invoke.Payloads;
import dev.bramble.daemon.invoke.InvokeRequest;
import dev.bramble.daemon.invoke.InvokeResult;
import dev.bramble.daemon.logs.InvocationLog;
import dev.bramble.daemon.invoke.Invoker;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The Lambda Invoke API, {@code POST /2015-03-31/functions/{name}/invocations}, as AWS's CLI and SDKs speak it:
 * {@code RequestResponse} and {@code DryRun}, {@code Qualifier}, {@code X-Amz-Log-Type: Tail},
 * {@code X-Amz-Client-Context}, and Lambda's response headers.
 */
final class InvokeApi {
    static final int SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024;
    static final int CLIENT_CONTEXT_LIMIT = 3583;
    static final HeaderName INVOCATION_TYPE = HeaderNames.create("X-Amz-Invocation-Type");
    static final HeaderName LOG_TYPE = HeaderNames.create("X-Amz-Log-Type");
    static final HeaderName CLIENT_CONTEXT = HeaderNames.create("X-Amz-Client-Context");
    static final HeaderName EXECUTED_VERSION = HeaderNames.create("X-Amz-Executed-Version");
    static final HeaderName FUNCTION_ERROR = HeaderNames.create("X-Amz-Function-Error");
    static final HeaderName LOG_RESULT = HeaderNames.create("X-Amz-Log-Result");
    static final HeaderName REQUEST_ID = HeaderNames.create("X-Amzn-RequestId");

    /** Lambda's limit on an asynchronous invocation's payload. */
    static final int ASYNC_PAYLOAD_LIMIT = 1024 * 1024;

    private final Invoker invoker;
    private final AsyncQueue queue;

    InvokeApi(Invoker invoker, AsyncQueue queue) {
        this.invoker = invoker;
        this.queue = queue;
    }

    void register(HttpRouting.Builder routing) {
        routing.post(PATH, (req, res) -> invoke(req, res, null));
    }

    /** The route of the Invoke API. */
    static final String PATH = "/2015-03-31/functions/{name}/invocations";

    /**
     * Answers one Invoke request; {@code body} is its body when the caller has read it already (to check its
     * signature), else null.
     */
    void invoke(ServerRequest req, ServerResponse res, byte[] body) {
        Target target = target(req.path().pathParameters().get("name"),
                req.query().first("Qualifier").orElse(null));
        String type = req.headers().first(INVOCATION_TYPE).orElse("RequestResponse");
        String logType = req.headers().first(LOG_TYPE).orElse("None");
        if (!logType.equals("None") && !logType.equals("Tail")) {
            throw ApiException.badParameter("X-Amz-Log-Type '" + logType + "' is not allowed; allowed: [None, Tail]");
        }
        String clientContext = clientContext(req.headers().first(CLIENT_CONTEXT).orElse(null));
        switch (type) {
            case "DryRun" -> {
                FunctionVersion v = invoker.resolve(target.function(), target.qualifier());
                res.status(204).header(EXECUTED_VERSION, Integer.toString(v.version())).send();
                return;
            }
            case "RequestResponse" -> {
            }
            case "Event" -> {
                if (logType.equals("Tail")) {
                    throw ApiException.badParameter("X-Amz-Log-Type 'Tail' is only allowed with RequestResponse");
                }
                queueEvent(req, res, target, body);
                return;
            }
            default -> throw ApiException.badParameter("X-Amz-Invocation-Type '" + type + "' is not allowed; "
                    + "allowed: [RequestResponse, Event, DryRun]");
        }
        byte[] payload = body != null ? body : Bodies.read(req, SYNC_PAYLOAD_LIMIT, () -> ApiException.tooLarge(
                SYNC_PAYLOAD_LIMIT, "Invoke"));
        if (payload.length > 0) {
            String problem = Payloads.problem(payload);
            if (problem != null) {
                throw ApiException.badContent("Could not parse request body into json: " + problem);
            }
        }
        String requestId = UUID.randomUUID().toString();
        InvokeResult result = invoker.invoke(new InvokeRequest(target.function(), target.qualifier(), payload,
                clientContext, requestId, logType.equals("Tail")));
        res.status(200)
                .header(HeaderNames.CONTENT_TYPE, "application/json")
                .header(EXECUTED_VERSION, Integer.toString(result.version().version()))
                .header(REQUEST_ID, requestId);
        if (result.error()) {
            res.header(FUNCTION_ERROR, "Unhandled");
        }
        if (logType.equals("Tail")) {
            res.header(LOG_RESULT, tail(result.log()));
        }
        res.send(result.payload());
    }

    /** {@code Event}: 202 once the event is stored in the durable queue; it runs, and is retried, from there. */
    private void queueEvent(ServerRequest req, ServerResponse res, Target target, byte[] body) {
        invoker.resolve(target.function(), target.qualifier()); // 404 now, not in the dead letters later
        Supplier<ApiException> tooLarge = () -> ApiException.tooLarge(ASYNC_PAYLOAD_LIMIT, "Invoke (Event)");
        if (body != null && body.length > ASYNC_PAYLOAD_LIMIT) {
            throw tooLarge.get();
        }
        byte[] payload = body != null ? body : Bodies.read(req, ASYNC_PAYLOAD_LIMIT, tooLarge);
        String problem = payload.length == 0 ? null : Payloads.problem(payload);
        if (problem != null) {
            throw ApiException.badContent("Could not parse request body into json: " + problem);
        }
        String requestId = UUID.randomUUID().toString();
        queue.enqueue(List.of(new AsyncQueue.Entry(requestId, target.function(), target.qualifier(), "invoke",
                payload.length == 0 ? "{}".getBytes(StandardCharsets.UTF_8) : payload, null)));
        res.status(202).header(REQUEST_ID, requestId).send();
    }

    /** A function name as the API accepts it: {@code name}, {@code name:qualifier} or a function ARN. */
    record Target(String function, String qualifier) {
    }

    private static final Pattern PARTIAL_ARN = Pattern.compile("\\d{12}:function:[^:]+(:[^:]+)?");

    static Target target(String name, String queryQualifier) {
        String fn = name;
        String qualifier = null;
        if (fn.startsWith("arn:")) {
            String[] parts = fn.split(":");
            if (parts.length < 7 || !parts[5].equals("function")) {
                throw ApiException.badParameter("'" + name + "' is not a function ARN; use "
                        + "arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] or just NAME");
            }
            fn = parts[6];
            qualifier = parts.length > 7 ? parts[7] : null;
        } else if (PARTIAL_ARN.matcher(fn).matches()) {
            // a partial ARN, ACCOUNT:function:NAME[:QUALIFIER], as Lambda takes it
            String[] parts = fn.split(":");
            fn = parts[2];
            qualifier = parts.length > 3 ? parts[3] : null;
        } else if (fn.contains(":")) {
            qualifier = fn.substring(fn.indexOf(':') + 1);
            fn = fn.substring(0, fn.indexOf(':'));
        }
        if (queryQualifier != null && qualifier != null && !queryQualifier.equals(qualifier)) {
            throw ApiException.badParameter("the qualifier in the function name ('" + qualifier
                    + "') and the Qualifier parameter ('" + queryQualifier + "') differ");
        }
        return new Target(fn, qualifier != null ? qualifier : queryQualifier);
    }

    private static String clientContext(String header) {
        if (header == null || header.isEmpty()) {
            return "";
        }
        if (header.length() > CLIENT_CONTEXT_LIMIT) {
            throw ApiException.badContent("X-Amz-Client-Context is " + header.length() + " bytes; at most "
                    + CLIENT_CONTEXT_LIMIT + " bytes of base64");
        }
        byte[] json;
        try {
            json = Base64.getDecoder().decode(header);
        } catch (IllegalArgumentException e) {
            throw ApiException.badContent("X-Amz-Client-Context must be base64-encoded JSON: " + e.getMessage());
        }
        String problem = Payloads.problem(json);
        if (problem != null || json.length == 0 || json[0] != '{') {
            throw ApiException.badContent("X-Amz-Client-Context must be a base64-encoded JSON object"
                    + (problem == null ? "" : ": " + problem));
        }
        return new String(json, StandardCharsets.UTF_8);
    }

    /** The last 4 KB of the invocation's log, base64, as Lambda's {@code X-Amz-Log-Result}. */
    static String tail(InvocationLog log) {
        return Base64.getEncoder().encodeToString(log.tail());
    }
}
