package dev.bramble.daemon.trigger;

import dev.bramble.daemon.config.Option;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bramble.daemon.invoke.LambdaErrors;
import dev.bramble.daemon.env.ThrottledException;
import dev.bramble.daemon.function.NotFoundException;
import dev.bramble.daemon.invoke.Payloads;
import dev.bramble.daemon.invoke.InvokeRequest;
import dev.bramble.daemon.invoke.InvokeResult;
import dev.bramble.daemon.invoke.Invoker;
import org.eclipse.californium.core.CoapResource;
import org.eclipse.californium.core.CoapServer;
import org.eclipse.californium.core.coap.CoAP.ResponseCode;
import org.eclipse.californium.core.coap.MediaTypeRegistry;
import org.eclipse.californium.core.config.CoapConfig;
import org.eclipse.californium.core.network.CoapEndpoint;
import org.eclipse.californium.core.server.resources.CoapExchange;
import org.eclipse.californium.core.server.resources.Resource;
import org.eclipse.californium.elements.config.Configuration;
import org.eclipse.californium.elements.config.UdpConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Synchronous invocation over CoAP (Eclipse Californium): {@code POST}, {@code PUT} or {@code GET}
 * {@code coap://device/fn/{path}} runs the function whose live version has a CoAP trigger with that path. Bodies in
 * JSON (content format 50) or octet-stream (42), block-wise in both directions up to
 * {@code coap.max-payload-bytes}. Each request runs on a virtual thread, so a slow function holds no protocol thread.
 */
public final class CoapListener implements AutoCloseable {
    public static final Option.Text BIND = Option.text("coap.bind", "0.0.0.0", "an IP address or host name",
            "address of the CoAP listener").resolvableHost();
    public static final Option<Integer> PORT = Option.integer("coap.port", -1, -1, 65_535, "",
            "CoAP UDP port (5683 is the standard); -1 leaves CoAP off");
    public static final Option<Integer> MAX_PAYLOAD = Option.integer("coap.max-payload-bytes", 1_048_576, 64, 6 << 20,
            "bytes", "largest CoAP request body, reassembled from blocks; larger gets 4.13");

    /**
     * The CoAP listener: the {@code coap.*} options.
     *
     * @param bind            its address
     * @param port            its UDP port; -1 leaves CoAP off, 0 picks a free port
     * @param maxPayloadBytes the largest request body, reassembled from blocks
     */
    public record Settings(String bind, int port, int maxPayloadBytes) {
    }

    private static final System.Logger LOG = System.getLogger(CoapListener.class.getName());
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final CoapServer server;
    private final CoapEndpoint endpoint;
    private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    private final LongAdder requests = new LongAdder();

    private CoapListener(Settings config, Function<String, Optional<Triggers.Active>> route,
                         Invoker invoker, Function<String, TriggerStats> stats) {
        CoapConfig.register();
        UdpConfig.register();
        // Without a file: Californium would otherwise write Californium3.properties into the working directory.
        Configuration cfg = Configuration.createStandardWithoutFile();
        cfg.set(CoapConfig.MAX_RESOURCE_BODY_SIZE, config.maxPayloadBytes());
        cfg.set(CoapConfig.MAX_MESSAGE_SIZE, 1024);
        cfg.set(CoapConfig.PREFERRED_BLOCK_SIZE, 1024);
        cfg.set(CoapConfig.PROTOCOL_STAGE_THREAD_COUNT, 1);
        server = new CoapServer(cfg);
        endpoint = new CoapEndpoint.Builder().setConfiguration(cfg)
                .setInetSocketAddress(new InetSocketAddress(config.bind(), config.port())).build();
        server.addEndpoint(endpoint);
        server.add(new FnResource(route, invoker, stats));
    }

    static CoapListener start(Settings config, Function<String, Optional<Triggers.Active>> route,
                              Invoker invoker, Function<String, TriggerStats> stats) {
        CoapListener l = new CoapListener(config, route, invoker, stats);
        try {
            l.server.start();
        } catch (IllegalStateException e) {
            // Californium's "none of the server's endpoints could be started": the bind failed
            l.server.destroy();
            throw new ListenerException("coap.bind/coap.port", config.bind() + ":"
                    + config.port(), e);
        }
        LOG.log(Level.INFO, "coap.listening address={0}", l.endpoint.getAddress());
        return l;
    }

    int port() {
        return endpoint.getAddress().getPort();
    }

    /** The listener for {@code /v1/status}. */
    public record Status(String state, String address, long requests) implements Triggers.ListenerStatus {
    }

    Status status() {
        return new Status("listening", endpoint.getAddress().getHostString() + ":" + port(), requests.sum());
    }

    /** {@code /fn}: every child name is looked up among the live CoAP triggers when a request comes. */
    private final class FnResource extends CoapResource {
        private final Function<String, Optional<Triggers.Active>> route;
        private final Invoker invoker;
        private final Function<String, TriggerStats> stats;

        FnResource(Function<String, Optional<Triggers.Active>> route, Invoker invoker,
                   Function<String, TriggerStats> stats) {
            super("fn");
            this.route = route;
            this.invoker = invoker;
            this.stats = stats;
        }

        @Override
        public Resource getChild(String name) {
            return new FunctionResource(name, this);
        }
    }

    private final class FunctionResource extends CoapResource {
        private final FnResource fn;

        FunctionResource(String name, FnResource fn) {
            super(name);
            this.fn = fn;
            setParent(fn);
        }

        @Override
        public java.util.concurrent.Executor getExecutor() {
            return handlers;
        }

        @Override
        public void handleGET(CoapExchange exchange) {
            invoke(exchange, "GET");
        }

        @Override
        public void handlePOST(CoapExchange exchange) {
            invoke(exchange, "POST");
        }

        @Override
        public void handlePUT(CoapExchange exchange) {
            invoke(exchange, "PUT");
        }

        private void invoke(CoapExchange exchange, String method) {
            requests.increment();
            String path = getName();
            Optional<Triggers.Active> target = fn.route.apply(path);
            if (target.isEmpty()) {
                exchange.respond(ResponseCode.NOT_FOUND, "no function is served at fn/" + path,
                        MediaTypeRegistry.TEXT_PLAIN);
                return;
            }
            TriggerStats st = fn.stats.apply(target.get().id());
            st.received.increment();
            byte[] body = exchange.getRequestPayload();
            int format = exchange.getRequestOptions().getContentFormat();
            boolean json;
            if (format == MediaTypeRegistry.APPLICATION_JSON) {
                String problem = body.length == 0 ? null : Payloads.problem(body);
                if (problem != null) {
                    st.dropped.increment();
                    exchange.respond(ResponseCode.BAD_REQUEST, "the body is not JSON: " + problem,
                            MediaTypeRegistry.TEXT_PLAIN);
                    return;
                }
                json = body.length > 0;
            } else if (format == MediaTypeRegistry.APPLICATION_OCTET_STREAM || format == MediaTypeRegistry.UNDEFINED) {
                json = false;
            } else {
                st.dropped.increment();
                exchange.respond(ResponseCode.UNSUPPORTED_CONTENT_FORMAT, "content format "
                        + MediaTypeRegistry.toString(format) + " is not accepted; use application/json (50) or "
                        + "application/octet-stream (42)", MediaTypeRegistry.TEXT_PLAIN);
                return;
            }
            String function = target.get().version().function();
            InvokeResult result;
            try {
                result = fn.invoker.invoke(new InvokeRequest(function, null, event(exchange, method, path, body,
                        json), "", UUID.randomUUID().toString(), false));
            } catch (ThrottledException e) {
                st.dropped.increment();
                exchange.setMaxAge(1);
                exchange.respond(ResponseCode.SERVICE_UNAVAILABLE, e.getMessage(), MediaTypeRegistry.TEXT_PLAIN);
                return;
            } catch (NotFoundException e) {
                exchange.respond(ResponseCode.NOT_FOUND, e.getMessage(), MediaTypeRegistry.TEXT_PLAIN);
                return;
            } catch (RuntimeException e) {
                st.failed.increment();
                LOG.log(Level.ERROR, "coap.invoke-failed function={0} error={1}", function, e.toString());
                exchange.respond(ResponseCode.INTERNAL_SERVER_ERROR, LambdaErrors.json("Bramble.InvokeFailed",
                        e.getMessage()), MediaTypeRegistry.APPLICATION_JSON);
                return;
            }
            st.invoked.increment();
            if (result.error()) {
                st.failed.increment();
                exchange.respond(ResponseCode.INTERNAL_SERVER_ERROR, result.payload(),
                        MediaTypeRegistry.APPLICATION_JSON);
            } else {
                exchange.respond(ResponseCode.CONTENT, result.payload(), MediaTypeRegistry.APPLICATION_JSON);
            }
        }
    }

    /** The event a function gets for a CoAP request (docs/triggers.md). */
    private static byte[] event(CoapExchange exchange, String method, String path, byte[] body, boolean json) {
        ObjectNode e = JSON.createObjectNode();
        e.put("method", method);
        e.put("path", path);
        ObjectNode query = e.putObject("query");
        List<String> parts = exchange.getRequestOptions().getUriQuery();
        for (String q : parts) {
            int eq = q.indexOf('=');
            query.put(eq < 0 ? q : q.substring(0, eq), eq < 0 ? "" : q.substring(eq + 1));
        }
        try {
            if (body.length == 0) {
                e.putNull("payload");
            } else if (json) {
                e.set("payload", JSON.readTree(body));
            } else {
                e.put("payload", Base64.getEncoder().encodeToString(body));
            }
            e.put("isBase64Encoded", body.length > 0 && !json);
            e.put("sourceIp", exchange.getSourceAddress().getHostAddress());
            return JSON.writeValueAsBytes(e);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    @Override
    public void close() {
        server.stop();
        server.destroy();
        handlers.shutdown();
    }
}
