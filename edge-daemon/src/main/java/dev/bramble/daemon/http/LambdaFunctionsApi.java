package dev.bramble.daemon.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bramble.daemon.function.FunctionRegistry;
import dev.bramble.daemon.function.FunctionState;
import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.invoke.Invoker;
import dev.bramble.protocol.Manifest;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The Lambda API's function and alias calls on the device, in Lambda's JSON shapes, so that
 * {@code aws lambda list-functions}, {@code get-function}, {@code get-function-configuration},
 * {@code list-versions-by-function}, {@code list-aliases}, {@code get-alias}, {@code create-alias},
 * {@code update-alias} (with {@code --routing-config 'AdditionalVersionWeights={3=0.1}'}) and
 * {@code get-account-settings} work with {@code --endpoint-url}. Versions come from deployments only. A function's
 * configuration carries its environment variables, so these routes need the admin credential: the bearer token, or
 * a SigV4 signature made with access key id {@value #ADMIN_KEY_ID} and the admin token as the secret key (what the
 * AWS CLI and SDKs send). An unknown function's 404 names only the function asked for.
 */
final class LambdaFunctionsApi {
    /** The access key id that goes with the admin token as a secret key. */
    static final String ADMIN_KEY_ID = "bramble-admin";
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final DateTimeFormatter LAST_MODIFIED = DateTimeFormatter.ofPattern(
            "yyyy-MM-dd'T'HH:mm:ss.SSSZ").withZone(ZoneOffset.UTC);
    private static final int MAX_ITEMS = 50;
    private static final int MAX_WRITE_BYTES = 16 * 1024;

    private final FunctionRegistry registry;
    private final Invoker invoker;
    private final String adminToken;
    private final Clock clock;

    LambdaFunctionsApi(FunctionRegistry registry, Invoker invoker, String adminToken, Clock clock) {
        this.registry = registry;
        this.invoker = invoker;
        this.adminToken = adminToken;
        this.clock = clock;
    }

    void register(HttpRouting.Builder routing) {
        routing.get("/2015-03-31/functions", admin(this::listFunctions))
                .get("/2015-03-31/functions/", admin(this::listFunctions))
                .get("/2015-03-31/functions/{name}", admin(this::getFunction))
                .delete("/2015-03-31/functions/{name}", admin(this::deleteFunction))
                .get("/2015-03-31/functions/{name}/configuration", admin(this::getConfiguration))
                .get("/2015-03-31/functions/{name}/versions", admin(this::listVersions))
                .get("/2015-03-31/functions/{name}/aliases", admin(this::listAliases))
                .get("/2015-03-31/functions/{name}/aliases/{alias}", admin(this::getAlias))
                .post("/2015-03-31/functions/{name}/aliases", this::createAlias)
                .put("/2015-03-31/functions/{name}/aliases/{alias}", this::updateAlias)
                .get("/2016-08-19/account-settings", admin(this::accountSettings))
                .get("/2016-08-19/account-settings/", admin(this::accountSettings));
    }

    /** A handler behind the admin credential. */
    private io.helidon.webserver.http.Handler admin(io.helidon.webserver.http.Handler handler) {
        return (req, res) -> {
            authorize(req, new byte[0]);
            handler.handle(req, res);
        };
    }

    /** A write's body, read before the credential is checked because a SigV4 signature covers it. */
    private com.fasterxml.jackson.databind.JsonNode writeBody(ServerRequest req) {
        byte[] body = Bodies.read(req, MAX_WRITE_BYTES, () -> ApiException.tooLarge(MAX_WRITE_BYTES, "alias"));
        authorize(req, body);
        com.fasterxml.jackson.databind.JsonNode json = body.length == 0 ? JSON.objectNode() : Json.tree(body);
        if (!json.isObject()) {
            throw ApiException.badParameter("the request body must be a JSON object");
        }
        return json;
    }

    /**
     * DeleteFunction: the function with every version, alias and saved test event; 204 as Lambda answers. One version
     * alone (a Qualifier) is not deleted here: old versions are pruned by the registry.
     */
    private void deleteFunction(ServerRequest req, ServerResponse res) {
        InvokeApi.Target t = InvokeApi.target(req.path().pathParameters().get("name"),
                req.query().first("Qualifier").orElse(null));
        if (t.qualifier() != null) {
            throw ApiException.badParameter("Qualifier '" + t.qualifier() + "': deleting one version is not "
                    + "supported here; delete the whole function, or let the device prune old versions "
                    + "(agent.keep-versions)");
        }
        FunctionState f = function(req);
        registry.remove(f.name());
        res.status(io.helidon.http.Status.NO_CONTENT_204).send();
    }

    private void createAlias(ServerRequest req, ServerResponse res) {
        com.fasterxml.jackson.databind.JsonNode body = writeBody(req);
        FunctionState f = function(req);
        String name = body.path("Name").asText("");
        if (f.aliases().containsKey(name)) {
            throw new ApiException(409, "ResourceConflictException", "Alias already exists: "
                    + invoker.arn(f.name(), name), List.of(), Map.of());
        }
        int version = versionIn(body, f);
        setAlias(f, name, version, routingIn(body));
        Json.send(res, 201, alias(function(req), name));
    }

    private void updateAlias(ServerRequest req, ServerResponse res) {
        com.fasterxml.jackson.databind.JsonNode body = writeBody(req);
        FunctionState f = function(req);
        String name = req.path().pathParameters().get("alias");
        Integer current = f.aliases().get(name);
        if (current == null) {
            throw notFound("Alias not found: " + invoker.arn(f.name(), name));
        }
        // As Lambda: what the request leaves out stays as it was; an empty AdditionalVersionWeights clears it.
        int version = body.has("FunctionVersion") ? versionIn(body, f) : current;
        FunctionState.Routing routing = body.has("RoutingConfig") ? routingIn(body) : f.routing().get(name);
        setAlias(f, name, version, routing);
        Json.send(res, 200, alias(function(req), name));
    }

    private void setAlias(FunctionState f, String name, int version, FunctionState.Routing routing) {
        try {
            registry.alias(f.name(), name, version, routing);
        } catch (IllegalArgumentException e) {
            throw ApiException.badParameter(e.getMessage());
        } catch (dev.bramble.daemon.function.NotFoundException e) {
            throw notFound(e.getMessage());
        }
    }

    private static int versionIn(com.fasterxml.jackson.databind.JsonNode body, FunctionState f) {
        String v = body.path("FunctionVersion").asText("");
        if (!v.matches("[0-9]{1,9}")) {
            throw ApiException.badParameter("FunctionVersion '" + v + "' is not allowed; name a published version: "
                    + f.versions().keySet() + " ($LATEST cannot be aliased here: versions come from deployments)");
        }
        return Integer.parseInt(v);
    }

    /** RoutingConfig.AdditionalVersionWeights: none, or one version with its share, as Lambda allows. */
    private static FunctionState.Routing routingIn(com.fasterxml.jackson.databind.JsonNode body) {
        com.fasterxml.jackson.databind.JsonNode weights = body.path("RoutingConfig").path("AdditionalVersionWeights");
        if (weights.isMissingNode() || weights.isNull() || weights.isObject() && weights.isEmpty()) {
            return null;
        }
        if (!weights.isObject() || weights.size() != 1) {
            throw ApiException.badParameter("RoutingConfig.AdditionalVersionWeights must map one version to its weight, such as "
                    + "{\"3\": 0.1}; Lambda allows one additional version");
        }
        Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> only = weights.properties().iterator().next();
        if (!only.getKey().matches("[0-9]{1,9}") || !only.getValue().isNumber()) {
            throw ApiException.badParameter("RoutingConfig.AdditionalVersionWeights {\"" + only.getKey() + "\": " + only.getValue()
                    + "} is not allowed; use a published version and a weight from 0.0 to 1.0");
        }
        return new FunctionState.Routing(Integer.parseInt(only.getKey()), only.getValue().asDouble());
    }

    private void listFunctions(ServerRequest req, ServerResponse res) {
        List<ObjectNode> all = new ArrayList<>();
        for (FunctionState f : registry.functions()) {
            all.add(configuration(f.latest(), "$LATEST"));
        }
        sendPage(req, res, "Functions", all);
    }

    private void getFunction(ServerRequest req, ServerResponse res) {
        FunctionVersion v = resolve(req);
        ObjectNode out = JSON.objectNode();
        out.set("Configuration", configuration(v, versionOf(req, v)));
        ObjectNode code = out.putObject("Code");
        code.put("RepositoryType", "Bramble");
        code.put("Location", "/v1/functions/" + v.function()); // the device's own view of it; no download
        out.putObject("Tags");
        Json.send(res, 200, out);
    }

    private void getConfiguration(ServerRequest req, ServerResponse res) {
        FunctionVersion v = resolve(req);
        Json.send(res, 200, configuration(v, versionOf(req, v)));
    }

    private void listVersions(ServerRequest req, ServerResponse res) {
        FunctionState f = function(req);
        List<ObjectNode> all = new ArrayList<>();
        all.add(configuration(f.latest(), "$LATEST"));
        f.versions().values().forEach(v -> all.add(configuration(v, Integer.toString(v.version()))));
        sendPage(req, res, "Versions", all);
    }

    private void listAliases(ServerRequest req, ServerResponse res) {
        FunctionState f = function(req);
        String only = req.query().first("FunctionVersion").orElse(null);
        List<ObjectNode> all = new ArrayList<>();
        new TreeMap<>(f.aliases()).forEach((name, version) -> {
            if (only == null || only.equals(Integer.toString(version))) {
                all.add(alias(f, name));
            }
        });
        sendPage(req, res, "Aliases", all);
    }

    private void getAlias(ServerRequest req, ServerResponse res) {
        FunctionState f = function(req);
        String name = req.path().pathParameters().get("alias");
        if (!f.aliases().containsKey(name)) {
            throw notFound("Alias not found: " + invoker.arn(f.name(), name));
        }
        Json.send(res, 200, alias(f, name));
    }

    private void accountSettings(ServerRequest req, ServerResponse res) {
        long total = 0;
        int count = 0;
        for (FunctionState f : registry.functions()) {
            count++;
            for (FunctionVersion v : f.versions().values()) {
                total += v.size();
            }
        }
        ObjectNode out = JSON.objectNode();
        ObjectNode limit = out.putObject("AccountLimit");
        limit.put("TotalCodeSize", registry.limits().maxZipBytes());
        limit.put("CodeSizeUnzipped", registry.limits().maxUnpackedBytes());
        limit.put("CodeSizeZipped", registry.limits().maxZipBytes());
        // no ConcurrentExecutions: the device's pool is a memory budget, not a count (docs/functions.md)
        ObjectNode usage = out.putObject("AccountUsage");
        usage.put("TotalCodeSize", total);
        usage.put("FunctionCount", count);
        Json.send(res, 200, out);
    }

    /** A version's FunctionConfiguration, as Lambda writes it. */
    private ObjectNode configuration(FunctionVersion v, String version) {
        Manifest m = v.manifest();
        ObjectNode c = JSON.objectNode();
        c.put("FunctionName", v.function());
        c.put("FunctionArn", invoker.arn(v.function(), version.equals("$LATEST") ? null : version));
        c.put("Runtime", m.runtime());
        c.put("Handler", m.handler());
        c.put("CodeSize", v.size());
        c.put("Description", m.description() == null ? "" : m.description());
        c.put("Timeout", m.timeoutSeconds());
        c.put("MemorySize", m.memoryMb());
        c.put("LastModified", LAST_MODIFIED.format(v.createdAt()));
        c.put("CodeSha256", java.util.Base64.getEncoder().encodeToString(HexFormat.of().parseHex(v.sha256())));
        c.put("Version", version);
        c.put("RevisionId", revision(v.sha256()));
        if (!m.environment().isEmpty()) {
            ObjectNode vars = c.putObject("Environment").putObject("Variables");
            new TreeMap<>(m.environment()).forEach(vars::put);
        }
        c.putObject("EphemeralStorage").put("Size", m.tmpMb());
        c.put("State", "Active");
        c.put("LastUpdateStatus", "Successful");
        c.put("PackageType", "Zip");
        c.putArray("Architectures").add(architecture());
        return c;
    }

    private ObjectNode alias(FunctionState f, String name) {
        int version = f.aliases().get(name);
        FunctionState.Routing routing = f.routing().get(name);
        ObjectNode a = JSON.objectNode();
        a.put("AliasArn", invoker.arn(f.name(), name));
        a.put("Name", name);
        a.put("FunctionVersion", Integer.toString(version));
        a.put("Description", "");
        if (routing != null) {
            a.putObject("RoutingConfig").putObject("AdditionalVersionWeights")
                    .put(Integer.toString(routing.version()), routing.weight());
        }
        a.put("RevisionId", revision(f.name() + ":" + name + "=" + version + (routing == null ? ""
                : "+" + routing.version() + "@" + routing.weight())));
        return a;
    }

    /** A revision id that changes when what it names does (Lambda's are UUIDs). */
    private static String revision(String of) {
        return java.util.UUID.nameUUIDFromBytes(of.getBytes(StandardCharsets.UTF_8)).toString();
    }

    private static String architecture() {
        String arch = System.getProperty("os.arch");
        return arch.equals("aarch64") || arch.equals("arm64") ? "arm64" : "x86_64";
    }

    /**
     * One page of a list, under {@code key}, as Lambda pages: {@code Marker} (the index to start at, as this API
     * gives it in {@code NextMarker}) and {@code MaxItems}.
     */
    private static void sendPage(ServerRequest req, ServerResponse res, String key, List<ObjectNode> all) {
        long from = integer(req, "Marker", 0, 0, Integer.MAX_VALUE);
        long end = from + integer(req, "MaxItems", MAX_ITEMS, 1, 10_000);
        ObjectNode out = JSON.objectNode();
        ArrayNode page = out.putArray(key);
        for (long i = from; i < all.size() && i < end; i++) {
            page.add(all.get((int) i));
        }
        if (end < all.size()) {
            out.put("NextMarker", Long.toString(end));
        }
        Json.send(res, 200, out);
    }

    private static int integer(ServerRequest req, String name, int dflt, int min, int max) {
        Optional<String> given = req.query().first(name).asOptional();
        if (given.isEmpty()) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(given.get());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw ApiException.badParameter(name + " '" + given.get() + "' is not allowed; allowed: an integer from "
                + min + " to " + max + (name.equals("Marker") ? ", as NextMarker gave it" : ""));
    }

    private FunctionState function(ServerRequest req) {
        InvokeApi.Target t = InvokeApi.target(req.path().pathParameters().get("name"), null);
        return registry.function(t.function()).orElseThrow(() -> notFound("Function not found: "
                + invoker.arn(t.function(), null)));
    }

    private FunctionVersion resolve(ServerRequest req) {
        InvokeApi.Target t = InvokeApi.target(req.path().pathParameters().get("name"),
                req.query().first("Qualifier").orElse(null));
        FunctionState f = registry.function(t.function()).orElseThrow(() -> notFound("Function not found: "
                + invoker.arn(t.function(), t.qualifier())));
        try {
            return registry.resolve(f.name(), t.qualifier() == null ? "$LATEST" : t.qualifier());
        } catch (dev.bramble.daemon.function.NotFoundException e) {
            throw notFound("Function not found: " + invoker.arn(t.function(), t.qualifier()));
        }
    }

    /** The version a configuration shows: {@code $LATEST} unless a qualifier named one. */
    private static String versionOf(ServerRequest req, FunctionVersion v) {
        InvokeApi.Target t = InvokeApi.target(req.path().pathParameters().get("name"),
                req.query().first("Qualifier").orElse(null));
        return t.qualifier() == null || t.qualifier().equals("$LATEST") ? "$LATEST" : Integer.toString(v.version());
    }

    private static ApiException notFound(String message) {
        return new ApiException(404, "ResourceNotFoundException", message, List.of(), Map.of());
    }

    /** The admin token as a bearer token, or a SigV4 signature made with it over the body (see the class comment). */
    private void authorize(ServerRequest req, byte[] body) {
        String given = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
        if (given.startsWith("Bearer ")) {
            AdminApi.checkBearer(given, adminToken);
            return;
        }
        if (given.isEmpty()) {
            throw FunctionGateway.denied("MissingAuthenticationTokenException", "Missing Authentication Token: "
                    + "sign the request with AWS_ACCESS_KEY_ID=" + ADMIN_KEY_ID + " and the device's admin token as "
                    + "AWS_SECRET_ACCESS_KEY (docs/operators.md), or send 'Authorization: Bearer <admin token>'");
        }
        SigV4.Authorization auth = FunctionGateway.parse(given);
        if (!auth.accessKeyId().equals(ADMIN_KEY_ID)) {
            throw FunctionGateway.denied("UnrecognizedClientException", "The security token included in the "
                    + "request is invalid: the access key id for this API is " + ADMIN_KEY_ID);
        }
        FunctionGateway.verify(req, body, auth, adminToken, clock);
    }

}
