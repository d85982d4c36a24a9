package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Flow;

/** HTTP to the deployer (or a device), with the CLI's exit codes for what goes wrong. */
final class Api {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** A failure with the exit code it maps to. */
    static final class Failure extends RuntimeException {
        final int exitCode;

        Failure(int exitCode, String message) {
            super(message);
            this.exitCode = exitCode;
        }
    }

    private final String base;
    private final String token;
    private final HttpClient http;

    Api(String base, String token) {
        this(base, token, null);
    }

    /** With {@code caFile} (PEM), only those certificates are trusted for https; null: the JDK's CAs. */
    Api(String base, String token, Path caFile) {
        this.base = base.replaceAll("/+$", "");
        this.token = token;
        if (caFile == null) {
            this.http = HTTP;
        } else {
            try {
                this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                        .sslContext(dev.bramble.protocol.PemTls.context(caFile.toString(), "", "")).build();
            } catch (IOException | java.security.GeneralSecurityException e) {
                throw new Failure(Bramble.EXIT_USAGE, "the CA file " + caFile + " cannot be used: " + e.getMessage());
            }
        }
    }

    JsonNode get(String path) {
        return send(request(path).GET());
    }

    JsonNode post(String path, Object body) {
        try {
            return send(request(path).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
        } catch (IOException e) {
            throw new Failure(Bramble.EXIT_FAILED, e.getMessage());
        }
    }

    JsonNode put(String path, Object body) {
        try {
            return send(request(path).header("Content-Type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
        } catch (IOException e) {
            throw new Failure(Bramble.EXIT_FAILED, e.getMessage());
        }
    }

    /** Uploads a file, printing progress to {@code err} when it is a terminal-sized upload. */
    JsonNode upload(String path, Path file, String signature, PrintWriter err) {
        return upload(path, file, signature, null, err);
    }

    /** The same, naming the URL devices fetch the bundle from instead of the deployer. */
    JsonNode upload(String path, Path file, String signature, String bundleUrl, PrintWriter err) {
        try {
            long size = java.nio.file.Files.size(file);
            HttpRequest.BodyPublisher body = progress(HttpRequest.BodyPublishers.ofFile(file), size, err);
            HttpRequest.Builder b = request(path).header("Content-Type", "application/zip")
                    .header("X-Bramble-Signature", signature);
            if (bundleUrl != null) {
                b.header("X-Bramble-Bundle-Url", bundleUrl);
            }
            return send(b.POST(body));
        } catch (IOException e) {
            throw new Failure(Bramble.EXIT_FAILED, e.getMessage());
        }
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofMinutes(5));
        if (token != null && !token.isEmpty()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    /** How often a request the deployer answered 503 (busy, or no replica up behind the balancer) is sent. */
    static final int ATTEMPTS = 3;

    private JsonNode send(HttpRequest.Builder b) {
        HttpResponse<String> r;
        try {
            HttpRequest request = b.build();
            r = http.send(request, HttpResponse.BodyHandlers.ofString());
            // A 503 means the request was not carried out: sent again after the Retry-After it names (1–5 s).
            for (int attempt = 1; r.statusCode() == 503 && attempt < ATTEMPTS; attempt++) {
                long wait = r.headers().firstValueAsLong("Retry-After").orElse(1);
                Thread.sleep(Math.clamp(wait, 1, 5) * 1000);
                r = http.send(request, HttpResponse.BodyHandlers.ofString());
            }
        } catch (ConnectException e) {
            throw new Failure(Bramble.EXIT_UNREACHABLE, "cannot reach " + base + " (" + e.getMessage() + ")");
        } catch (javax.net.ssl.SSLHandshakeException e) {
            throw new Failure(Bramble.EXIT_UNREACHABLE, "cannot trust " + base + ": " + e.getMessage() + " (give its "
                    + "CA with --ca-file or the profile's ca-file)");
        } catch (IOException e) {
            throw new Failure(Bramble.EXIT_UNREACHABLE, "talking to " + base + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure(Bramble.EXIT_FAILED, "interrupted");
        }
        JsonNode n;
        try {
            n = r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
        } catch (IOException e) {
            n = JSON.createObjectNode().put("message", r.body());
        }
        if (r.statusCode() >= 400) {
            String message = n.path("message").asText(r.body());
            if (n.has("problems")) {
                message += " " + n.get("problems");
            }
            throw new Failure(r.statusCode() == 401 || r.statusCode() == 403 ? Bramble.EXIT_AUTH : Bramble.EXIT_FAILED,
                    r.statusCode() + " " + n.path("type").asText(n.path("Type").asText("")) + ": " + message);
        }
        return n;
    }

    private static HttpRequest.BodyPublisher progress(HttpRequest.BodyPublisher inner, long size, PrintWriter err) {
        return new HttpRequest.BodyPublisher() {
            @Override
            public long contentLength() {
                return inner.contentLength();
            }

            @Override
            public void subscribe(Flow.Subscriber<? super java.nio.ByteBuffer> s) {
                inner.subscribe(new Flow.Subscriber<>() {
                    long sent;
                    int shown = -1;

                    @Override
                    public void onSubscribe(Flow.Subscription sub) {
                        s.onSubscribe(sub);
                    }

                    @Override
                    public void onNext(java.nio.ByteBuffer item) {
                        sent += item.remaining();
                        int pct = size == 0 ? 100 : (int) (sent * 100 / size);
                        if (pct / 10 != shown) {
                            shown = pct / 10;
                            err.printf("\ruploading %d%% (%d of %d bytes)", pct, sent, size);
                            err.flush();
                        }
                        s.onNext(item);
                    }

                    @Override
                    public void onError(Throwable t) {
                        s.onError(t);
                    }

                    @Override
                    public void onComplete() {
                        err.println();
                        s.onComplete();
                    }
                });
            }
        };
    }
}
