package dev.bramble.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** The deployer's admin API, as much of it as the bench needs. */
final class Fleet {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private final String base;
    private final String token;

    Fleet(String base, String token) {
        this.base = base;
        this.token = token;
    }

    JsonNode post(String path, String json) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    JsonNode get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
    }

    JsonNode publish(byte[] zip, String signature) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + "/v1/functions")).header("X-Bramble-Signature", signature)
                .POST(HttpRequest.BodyPublishers.ofByteArray(zip)));
    }

    /** Sends a request; a 503 (not carried out: the database or every replica busy) is sent again, as the CLI does. */
    private JsonNode send(HttpRequest.Builder b) throws IOException, InterruptedException {
        HttpRequest request = b.header("Authorization", "Bearer " + token).build();
        HttpResponse<String> r = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        for (int retry = 0; r.statusCode() == 503 && retry < 5; retry++) {
            Thread.sleep(1_000L * Math.clamp(r.headers().firstValueAsLong("Retry-After").orElse(1), 1, 5));
            r = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        }
        if (r.statusCode() / 100 != 2) {
            throw new IOException("deployer answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    static String quote(String s) throws IOException {
        return JSON.writeValueAsString(s);
    }
}
