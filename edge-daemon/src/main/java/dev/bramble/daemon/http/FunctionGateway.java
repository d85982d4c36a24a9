package dev.bramble.daemon.http;

import dev.bramble.daemon.async.AsyncQueue;
import dev.bramble.daemon.env.CallerCredentials;
import dev.bramble.daemon.invoke.Invoker;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;

/**
 * The one door functions have into the daemon: the Invoke API on a loopback port of its own, for calls signed
 * (SigV4) with an environment's own credentials ({@link CallerCredentials}), to the functions its manifest's
 * {@code invokes} names. Every other listener of the daemon's is closed to functions by the sandbox's rules; this
 * one is open to them, and answers only what a valid signature of a granted caller asks (decision 0007).
 */
public final class FunctionGateway {
    private static final System.Logger LOG = System.getLogger(FunctionGateway.class.getName());
    /** How far a signature's time may be from the device's clock, as AWS allows. */
    static final Duration SKEW = Duration.ofMinutes(5);
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    private final WebServer server;
    private final HeaderDeadline headerDeadline;

    private FunctionGateway(WebServer server, HeaderDeadline headerDeadline) {
        this.server = server;
        this.headerDeadline = headerDeadline;
    }

    /** Starts the gateway on a free loopback port and tells {@code credentials} where it is. */
    public static FunctionGateway start(Invoker invoker, AsyncQueue queue, CallerCredentials credentials,
                                        String accountId, String region, Clock clock) {
        InvokeApi invoke = new InvokeApi(invoker, queue);
        String arnPrefix = "arn:aws:lambda:" + region + ":" + accountId + ":function:";
        WebServerConfig.Builder builder = WebServer.builder().host("127.0.0.1").port(0);
        // functions are the gateway's clients: one that holds connections open gets them closed
        HeaderDeadline headerDeadline = HttpApi.slowClients(builder, Duration.ofSeconds(30));
        WebServer server = builder
                .routing(routing -> {
                    routing.post(InvokeApi.PATH, (req, res) -> {
                        byte[] body = Bodies.read(req, InvokeApi.SYNC_PAYLOAD_LIMIT, () -> ApiException.tooLarge(
                                InvokeApi.SYNC_PAYLOAD_LIMIT, "Invoke"));
                        CallerCredentials.Caller caller = authenticate(req, body, credentials, clock);
                        String target = InvokeApi.target(req.path().pathParameters().get("name"),
                                req.query().first("Qualifier").orElse(null)).function();
                        if (!caller.invokes().contains(target)) {
                            LOG.log(Level.INFO, "gateway.refused caller={0} target={1}", caller.function(), target);
                            throw new ApiException(403, "AccessDeniedException", "User: " + arnPrefix
                                    + caller.function() + " is not authorized to perform: lambda:InvokeFunction on "
                                    + "resource: " + arnPrefix + target + " because no grant allows it (invokes in "
                                    + caller.function() + "'s function.json: " + caller.invokes() + ")");
                        }
                        invoke.invoke(req, res, body);
                    });
                    HttpApi.errors(routing);
                })
                .build();
        HttpApi.start(server, headerDeadline, "the function gateway", "127.0.0.1:0");
        credentials.endpoint("http://127.0.0.1:" + server.port());
        return new FunctionGateway(server, headerDeadline);
    }

    /** The environment that signed this request, or a 403 that says what is wrong with its signature. */
    static CallerCredentials.Caller authenticate(ServerRequest req, byte[] body, CallerCredentials credentials,
                                                 Clock clock) {
        String header = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
        if (header.isEmpty()) {
            throw denied("MissingAuthenticationTokenException", "Missing Authentication Token: sign the request "
                    + "(SigV4) with the environment's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN");
        }
        SigV4.Authorization auth = parse(header);
        CallerCredentials.Caller caller = credentials.find(auth.accessKeyId()).orElseThrow(() -> denied(
                "UnrecognizedClientException", "The security token included in the request is invalid."));
        String token = req.headers().first(HeaderNames.create("X-Amz-Security-Token")).orElse("");
        if (!SigV4.same(token, caller.sessionToken()) || !auth.signedHeaders().contains("x-amz-security-token")) {
            throw denied("UnrecognizedClientException", "The security token included in the request is invalid: "
                    + "X-Amz-Security-Token, Host and X-Amz-Date must be sent and signed");
        }
        verify(req, body, auth, caller.secret(), clock);
        return caller;
    }

    /** An Authorization header's SigV4 parts, or a 403 that says what is incomplete. */
    static SigV4.Authorization parse(String header) {
        try {
            return SigV4.Authorization.parse(header);
        } catch (IllegalArgumentException e) {
            throw denied("IncompleteSignatureException", e.getMessage());
        }
    }

    /**
     * Checks a SigV4 signature made with {@code secret}: Host and X-Amz-Date signed, scoped to the lambda service,
     * within {@link #SKEW} of the device's time, and the signature itself. Throws a 403 that says what is wrong.
     */
    static void verify(ServerRequest req, byte[] body, SigV4.Authorization auth, String secret, Clock clock) {
        if (!auth.signedHeaders().contains("host") || !auth.signedHeaders().contains("x-amz-date")) {
            throw denied("IncompleteSignatureException", "Host and X-Amz-Date must be sent and signed");
        }
        if (!auth.service().equals("lambda")) {
            throw denied("InvalidSignatureException", "Credential should be scoped to correct service: 'lambda'");
        }
        String amzDate = req.headers().first(HeaderNames.create("X-Amz-Date")).orElse("");
        try {
            Instant signedAt = Instant.from(AMZ_DATE.parse(amzDate));
            if (Duration.between(signedAt, clock.instant()).abs().compareTo(SKEW) > 0) {
                throw denied("InvalidSignatureException", "Signature expired: " + amzDate + " is more than "
                        + SKEW.toMinutes() + " minutes from the device's time " + AMZ_DATE.format(clock.instant()));
            }
            if (!amzDate.startsWith(auth.date())) {
                throw denied("InvalidSignatureException", "the credential's date " + auth.date()
                        + " is not X-Amz-Date's");
            }
        } catch (DateTimeParseException e) {
            throw denied("IncompleteSignatureException", "X-Amz-Date '" + amzDate + "' is not yyyyMMddTHHmmssZ");
        }
        String expected = SigV4.expected(secret, auth, req.prologue().method().text(), req.path().rawPath(),
                req.query().rawValue(), name -> {
                    List<String> values = req.headers().contains(HeaderNames.create(name))
                            ? req.headers().get(HeaderNames.create(name)).allValues() : null;
                    return values == null ? null : String.join(",", values);
                }, body);
        if (!SigV4.same(expected, auth.signature())) {
            throw denied("InvalidSignatureException", "The request signature we calculated does not match the "
                    + "signature you provided. Check your AWS Secret Access Key and signing method.");
        }
    }

    static ApiException denied(String type, String message) {
        return new ApiException(403, type, message, List.of(), Map.of());
    }

    /** The port it listens on. */
    public int port() {
        return server.port();
    }

    /** Stops it. Idempotent. */
    public void stop() {
        if (server.isRunning()) {
            server.stop();
        }
        headerDeadline.close();
    }
}
