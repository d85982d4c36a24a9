package dev.bramble.daemon.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bramble.daemon.invoke.InvokeRequest;
import dev.bramble.daemon.invoke.InvokeResult;
import dev.bramble.daemon.invoke.Invoker;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * Function URLs: {@code ANY /fn/{name}/{path...}} invokes the function's {@code live} alias with an API Gateway
 * HTTP API payload 2.0 event and maps its answer back to HTTP, as Lambda Function URLs do.
 */
final class FunctionUrls {
    private static final DateTimeFormatter REQUEST_TIME = DateTimeFormatter
            .ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);

    private final Invoker invoker;
    private final Clock clock;
    private final String accountId;

    FunctionUrls(Invoker invoker, Clock clock, String accountId) {
        this.invoker = invoker;
        this.clock = clock;
        this.accountId = accountId;
    }

    void register(HttpRouting.Builder routing) {
        routing.any("/fn/{name}", this::handle);
        routing.any("/fn/{name}/", this::handle);
        routing.any("/fn/{name}/{+path}", this::handle);
    }

    private void handle(ServerRequest req, ServerResponse res) {
        String name = req.path().pathParameters().get("name");
        byte[] body = Bodies.read(req, InvokeApi.SYNC_PAYLOAD_LIMIT,
                () -> ApiException.tooLarge(InvokeApi.SYNC_PAYLOAD_LIMIT, "Function URL"));
        String requestId = UUID.randomUUID().toString();
        byte[] event = Json.MAPPER.valueToTree(event(req, name, body, requestId)).toString()
                .getBytes(StandardCharsets.UTF_8);
        InvokeResult result = invoker.invoke(new InvokeRequest(name, null, event, "", requestId, false));
        res.header(InvokeApi.REQUEST_ID, requestId);
        if (result.error()) {
            Json.send(res, 502, Map.of("message", "Internal Server Error"));
            return;
        }
        respond(res, result.payload());
    }

    /** The payload 2.0 event. */
    ObjectNode event(ServerRequest req, String name, byte[] body, String requestId) {
        // The function sees its own path: /fn/NAME/a/b arrives as /a/b.
        String rawPath = req.path().rawPath();
        int slash = rawPath.indexOf('/', "/fn/".length());
        String path = slash < 0 ? "/" : rawPath.substring(slash);
        Map<String, String> headers = new LinkedHashMap<>();
        List<String> cookies = new ArrayList<>();
        for (Header h : req.headers()) {
            String key = h.name().toLowerCase(Locale.ROOT);
            if (key.equals("cookie")) {
                for (String v : h.allValues()) {
                    for (String c : v.split(";")) {
                        if (!c.isBlank()) {
                            cookies.add(c.trim());
                        }
                    }
                }
                continue;
            }
            headers.merge(key, String.join(",", h.allValues()), (a, b) -> a + "," + b);
        }
        Map<String, String> query = new LinkedHashMap<>();
        for (String key : req.query().names()) {
            query.put(key, String.join(",", req.query().all(key)));
        }
        Instant now = clock.instant();
        ObjectNode e = Json.MAPPER.createObjectNode();
        e.put("version", "2.0");
        e.put("routeKey", "$default");
        e.put("rawPath", path);
        e.put("rawQueryString", req.query().rawValue());
        if (!cookies.isEmpty()) {
            e.set("cookies", Json.MAPPER.valueToTree(cookies));
        }
        e.set("headers", Json.MAPPER.valueToTree(headers));
        if (!query.isEmpty()) {
            e.set("queryStringParameters", Json.MAPPER.valueToTree(query));
        }
        ObjectNode ctx = e.putObject("requestContext");
        ctx.put("accountId", accountId);
        ctx.put("apiId", name);
        String host = headers.getOrDefault("host", "localhost");
        ctx.put("domainName", host);
        ctx.put("domainPrefix", host.contains(".") ? host.substring(0, host.indexOf('.')) : host);
        ObjectNode http = ctx.putObject("http");
        http.put("method", req.prologue().method().text());
        http.put("path", path);
        http.put("protocol", req.prologue().rawProtocol());
        http.put("sourceIp", req.remotePeer().address() instanceof InetSocketAddress a
                ? a.getAddress().getHostAddress() : req.remotePeer().host());
        http.put("userAgent", headers.getOrDefault("user-agent", ""));
        ctx.put("requestId", requestId);
        ctx.put("routeKey", "$default");
        ctx.put("stage", "$default");
        ctx.put("time", REQUEST_TIME.format(now));
        ctx.put("timeEpoch", now.toEpochMilli());
        if (body.length > 0) {
            String text = textOrNull(body, headers.get("content-type"));
            e.put("body", text != null ? text : Base64.getEncoder().encodeToString(body));
            e.put("isBase64Encoded", text == null);
        } else {
            e.put("isBase64Encoded", false);
        }
        return e;
    }

    /**
     * A body is passed as text when its type is text as Lambda's function URLs count it (text/*, JSON, XML,
     * JavaScript) and it is valid UTF-8; otherwise base64, as Lambda does for form posts
     * ({@code application/x-www-form-urlencoded}) and a body without a Content-Type.
     */
    private static String textOrNull(byte[] body, String contentType) {
        String t = contentType == null ? "" : contentType.toLowerCase(Locale.ROOT).split(";", 2)[0].trim();
        boolean textual = t.startsWith("text/") || t.equals("application/json") || t.endsWith("+json")
                || t.equals("application/xml") || t.endsWith("+xml") || t.equals("application/javascript");
        if (!textual) {
            return null;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(body)).toString();
        } catch (CharacterCodingException ex) {
            return null;
        }
    }

    /**
     * A result with {@code statusCode} is an HTTP response (headers, cookies, body, isBase64Encoded); any other
     * JSON value is sent as a 200 {@code application/json} body.
     */
    private static void respond(ServerResponse res, byte[] payload) {
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(payload);
        } catch (IOException e) {
            node = null;
        }
        if (node == null || !node.isObject() || !node.path("statusCode").canConvertToInt()
                || !node.path("statusCode").isNumber()) {
            res.status(200).header(HeaderNames.CONTENT_TYPE, "application/json").send(payload);
            return;
        }
        res.status(node.get("statusCode").asInt());
        node.path("headers").properties().forEach(h -> res.header(h.getKey(), h.getValue().asText()));
        node.path("multiValueHeaders").properties().forEach(h -> {
            List<String> values = new ArrayList<>();
            h.getValue().forEach(v -> values.add(v.asText()));
            res.header(h.getKey(), values.toArray(String[]::new));
        });
        List<String> setCookies = new ArrayList<>();
        node.path("cookies").forEach(c -> setCookies.add(c.asText()));
        if (!setCookies.isEmpty()) {
            res.header(HeaderNames.SET_COOKIE, setCookies.toArray(String[]::new));
        }
        JsonNode body = node.get("body");
        if (body == null || body.isNull()) {
            res.send();
            return;
        }
        String text = body.isTextual() ? body.asText() : body.toString();
        res.send(node.path("isBase64Encoded").asBoolean(false) ? Base64.getDecoder().decode(text)
                : text.getBytes(StandardCharsets.UTF_8));
    }
}
