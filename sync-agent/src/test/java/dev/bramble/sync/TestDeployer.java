package dev.bramble.sync;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bramble.deployer.Deployer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A real bramble-deployer on a fixed port and a data directory that outlive its restarts. */
final class TestDeployer implements AutoCloseable {
    static final String ADMIN = "admin-token-for-sync-tests-0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final Path config;
    private final int port;
    private Deployer deployer;

    TestDeployer(Path dir) throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        config = dir.resolve("deployer.yaml");
        Files.writeString(config, "data-dir: " + dir.resolve("deployer") + "\nhttp:\n  port: " + port
                + "\nadmin:\n  token: " + ADMIN + "\n");
    }

    TestDeployer start() {
        deployer = Deployer.start(config);
        return this;
    }

    void stop() {
        if (deployer != null) {
            deployer.close();
            deployer = null;
        }
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    int port() {
        return port;
    }

    /** Enrols a device; its endpoint points at {@code url}. */
    SyncAgent.Endpoint enrol(String url) {
        JsonNode t = call("POST", "/v1/enrolment-tokens", ADMIN, Map.of("uses", 1));
        JsonNode e = call("POST", "/v1/enrol", null, Map.of("token", t.path("token").asText(), "name", "pi"));
        return new SyncAgent.Endpoint(url, e.path("deviceId").asText(), e.path("deviceToken").asText());
    }

    /** Every log line and gap of a function, as "line" or "gap N", in the deployer's order. */
    List<String> logs(String device, String function) {
        List<String> out = new ArrayList<>();
        long after = 0;
        while (true) {
            JsonNode page = call("GET", "/v1/devices/" + device + "/logs?function=" + function + "&limit=10000&after="
                    + after, ADMIN, null);
            if (page.path("lines").isEmpty()) {
                return out;
            }
            page.path("lines").forEach(l -> out.add(l.path("kind").asText().equals("gap")
                    ? "gap " + l.path("dropped").asLong() : l.path("message").asText()));
            after = page.path("next").asLong();
        }
    }

    private JsonNode call(String method, String path, String token, Object body) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url() + path)).method(method, body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
            if (token != null) {
                b.header("Authorization", "Bearer " + token);
            }
            HttpResponse<byte[]> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() / 100 != 2) {
                throw new AssertionError(method + " " + path + ": " + r.statusCode() + " " + new String(r.body()));
            }
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        stop();
    }
}
