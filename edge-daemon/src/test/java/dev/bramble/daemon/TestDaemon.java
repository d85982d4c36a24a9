package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bramble.sandbox.Sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A real brambled on a free loopback port, with a data directory of its own, spoken to over real HTTP. Child JVMs
 * run the runtime from the classpath Maven resolved, exactly what dist/lib/runtime/ holds.
 */
final class TestDaemon implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Each daemon gets a cgroup subtree of its own: a daemon clears its subtree of leftovers when it starts. */
    private static final java.util.concurrent.atomic.AtomicInteger INSTANCES = new java.util.concurrent.atomic.AtomicInteger();
    private final Daemon daemon;
    private final Sandbox sandbox;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Path dataDir;
    private final String token;

    private TestDaemon(Daemon daemon, Sandbox sandbox, Path dataDir, String token) {
        this.daemon = daemon;
        this.sandbox = sandbox;
        this.dataDir = dataDir;
        this.token = token;
    }

    /** A daemon on embedded defaults but for data directory, port and the overrides given as YAML. */
    static TestDaemon start(Path dataDir, String yamlOverrides) {
        return start(dataDir, yamlOverrides, Clock.systemUTC());
    }

    static TestDaemon start(Path dataDir, String yamlOverrides, Clock clock) {
        return start(dataDir, yamlOverrides, clock, false);
    }

    /**
     * A daemon with the best isolation this machine allows, or, with {@code requireIsolation}, full isolation or
     * an exception naming what is missing.
     */
    static TestDaemon start(Path dataDir, String yamlOverrides, Clock clock, boolean requireIsolation) {
        String classpath = System.getProperty("bramble.test.runtime.classpath");
        if (classpath == null || classpath.isBlank()) {
            throw new IllegalStateException("bramble.test.runtime.classpath is not set; run the tests through Maven");
        }
        String base = """
                data-dir: %s
                http:
                  port: 0
                runtime:
                  classpath: "%s"
                security:
                  allow-unsigned: true
                sandbox:
                  cgroup-name: bramble-test-%d-%d
                  require-isolation: %s
                """.formatted(dataDir, classpath, ProcessHandle.current().pid(), INSTANCES.incrementAndGet(),
                requireIsolation);
        String yaml = merge(base, yamlOverrides);
        DaemonConfig config;
        try {
            Path file = dataDir.resolveSibling(dataDir.getFileName() + ".yaml");
            java.nio.file.Files.writeString(file, yaml);
            config = DaemonConfig.load(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // The best isolation this machine allows: full as root (CI), degraded elsewhere, as /v1/status says.
        Sandbox sandbox = Sandbox.create(Main.sandboxSettings(config));
        try {
            Daemon daemon = Daemon.start(config, sandbox, clock);
            // The token the daemon generated into its data directory, read as the device's CLI reads it.
            return new TestDaemon(daemon, sandbox, dataDir, Daemon.adminToken(config));
        } catch (RuntimeException e) {
            sandbox.close();
            throw e;
        }
    }

    /** The base configuration with the test's overrides laid over it, key by key. */
    static String merge(String base, String overrides) {
        try {
            com.fasterxml.jackson.databind.ObjectMapper yaml = new com.fasterxml.jackson.databind.ObjectMapper(
                    new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
            com.fasterxml.jackson.databind.node.ObjectNode tree = (com.fasterxml.jackson.databind.node.ObjectNode)
                    yaml.readTree(base);
            if (!overrides.isBlank()) {
                yaml.readerForUpdating(tree).readValue(overrides);
            }
            return yaml.writeValueAsString(tree);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The SHA-256 of the version a daemon at {@code base} (admin token {@code token}) runs as {@code live}, or empty
     * when it has none.
     */
    static String liveSha(String base, String token, String function) {
        HttpResponse<byte[]> r;
        try {
            r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/v1/functions/" + function))
                    .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        if (r.statusCode() != 200) {
            return "";
        }
        JsonNode f = new Response(r.statusCode(), r.headers().map(), r.body()).json();
        int live = f.path("aliases").path("live").asInt();
        for (JsonNode v : f.path("versions")) {
            if (v.path("version").asInt() == live) {
                return v.path("sha256").asText();
            }
        }
        return "";
    }

    Daemon daemon() {
        return daemon;
    }

    Path dataDir() {
        return dataDir;
    }

    /** The daemon's admin token. */
    String token() {
        return token;
    }

    String base() {
        return "http://127.0.0.1:" + daemon.port();
    }

    /** An HTTP answer. */
    record Response(int status, Map<String, List<String>> headers, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + text(), e);
            }
        }

        Optional<String> header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .flatMap(e -> e.getValue().stream()).findFirst();
        }

        /** The decoded {@code X-Amz-Log-Result}. */
        String logTail() {
            return new String(Base64.getDecoder().decode(header("X-Amz-Log-Result").orElseThrow()),
                    StandardCharsets.UTF_8);
        }
    }

    /** A request with the admin token, as the device's operator sends it. */
    Response send(String method, String path, byte[] body, String... headers) {
        String[] all = java.util.Arrays.copyOf(headers, headers.length + 2);
        all[headers.length] = "Authorization";
        all[headers.length + 1] = "Bearer " + token;
        return anonymous(method, path, body, all);
    }

    /** A request with only the headers given: what anyone on the network, or a function, could send. */
    Response anonymous(String method, String path, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Response(r.statusCode(), r.headers().map(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The AWS SDK's Lambda client for this daemon, signing with {@code keyId} and {@code secret}. */
    software.amazon.awssdk.services.lambda.LambdaClient lambda(String keyId, String secret) {
        return software.amazon.awssdk.services.lambda.LambdaClient.builder()
                .endpointOverride(java.net.URI.create(base()))
                .region(software.amazon.awssdk.regions.Region.of("local"))
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(keyId, secret)))
                .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create()).build();
    }

    /** The same, with the admin credential (access key id bramble-admin, the admin token as secret). */
    software.amazon.awssdk.services.lambda.LambdaClient lambda() {
        return lambda("bramble-admin", token());
    }

    Response get(String path) {
        return send("GET", path, null);
    }

    /** The Invoke API, with Tail logs so tests can read the REPORT line. */
    Response invoke(String function, String json, String... headers) {
        String[] all = new String[headers.length + 2];
        all[0] = "X-Amz-Log-Type";
        all[1] = "Tail";
        System.arraycopy(headers, 0, all, 2, headers.length);
        return send("POST", "/2015-03-31/functions/" + function + "/invocations",
                json.getBytes(StandardCharsets.UTF_8), all);
    }

    Response deploy(Path zip, String query) {
        try {
            return send("POST", "/v1/deployments" + query, java.nio.file.Files.readAllBytes(zip),
                    "Content-Type", "application/zip");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deploys and insists it worked. */
    JsonNode deployOk(Path zip) {
        Response r = deploy(zip, "");
        if (r.status() != 201 && r.status() != 200) {
            throw new AssertionError("deploy failed: " + r.status() + " " + r.text());
        }
        return r.json();
    }

    @Override
    public void close() {
        daemon.close();
        sandbox.close();
    }
}
