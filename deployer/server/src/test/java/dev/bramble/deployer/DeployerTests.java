package dev.bramble.deployer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bramble.protocol.Signing;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deployer's API over real HTTP against a real database; run once on SQLite and once on PostgreSQL by the two
 * subclasses, the same tests on the same code path.
 */
abstract class DeployerTests {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String ADMIN = "admin-token-for-the-tests-0123456789";
    static final String SCRAPER = "metrics-token-for-the-tests-0123";
    private static final AtomicInteger NAMES = new AtomicInteger();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    static Deployer deployer;
    @TempDir
    static Path dir;

    static void startDeployer(String databaseUrl) throws IOException {
        Path config = dir.resolve("deployer.yaml");
        Files.writeString(config, """
                data-dir: %s
                http:
                  port: 0
                database:
                  url: "%s"
                admin:
                  token: %s
                metrics:
                  token: %s
                long-poll:
                  max-seconds: 5
                """.formatted(dir.resolve("data"), databaseUrl, ADMIN, SCRAPER));
        deployer = Deployer.start(DeployerConfig.load(config), Clock.systemUTC());
    }

    @AfterAll
    static void stopDeployer() {
        if (deployer != null) {
            deployer.close();
        }
    }

    record Response(int status, Map<String, List<String>> headers, byte[] body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError(new String(body, StandardCharsets.UTF_8), e);
            }
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    static Response call(String method, String path, String token, byte[] body, String... headers) {
        return callOn(deployer.port(), method, path, token, body, headers);
    }

    /** The same, to a deployer on another port (another replica). */
    static Response callOn(int port, String method, String path, String token, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            HttpResponse<byte[]> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Response(r.statusCode(), r.headers().map(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static Response json(String method, String path, String token, Object body) {
        try {
            return call(method, path, token, JSON.writeValueAsBytes(body), "Content-Type", "application/json");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The hello example renamed (a function of its own per test) and, with {@code variant}, a different bundle. */
    static Path bundle(String name, int variant) throws IOException {
        return bundle(dir, name, variant);
    }

    static Path bundle(Path dir, String name, int variant) throws IOException {
        Path source = Path.of(System.getProperty("bramble.test.hello"));
        Path out = Files.createTempFile(dir, name + "-", ".zip");
        try (ZipFile in = new ZipFile(source.toFile()); ZipOutputStream zip = new ZipOutputStream(
                Files.newOutputStream(out))) {
            for (ZipEntry e : java.util.Collections.list(in.entries())) {
                zip.putNextEntry(new ZipEntry(e.getName()));
                try (InputStream is = in.getInputStream(e)) {
                    byte[] b = is.readAllBytes();
                    if (e.getName().equals("function.json")) {
                        JsonNode m = JSON.readTree(b);
                        ((com.fasterxml.jackson.databind.node.ObjectNode) m).put("name", name)
                                .put("description", "variant " + variant);
                        b = JSON.writeValueAsBytes(m);
                    }
                    zip.write(b);
                }
                zip.closeEntry();
            }
        }
        return out;
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static String unique(String base) {
        return base + "-" + NAMES.incrementAndGet();
    }

    /** A registered signer. */
    static KeyPair signer() {
        KeyPair k = Signing.generate();
        Response r = json("POST", "/v1/signers", ADMIN, Map.of("name", unique("author"), "publicKey",
                Signing.pem(k.getPublic())));
        assertThat(r.status()).as(r.text()).isEqualTo(201);
        return k;
    }

    static Response publish(byte[] zip, KeyPair key) throws Exception {
        String sig = Signing.sign(sha256(zip), key.getPrivate(), key.getPublic()).toJson();
        return call("POST", "/v1/functions", ADMIN, zip, "X-Bramble-Signature", sig);
    }

    /** Enrols a device into a group and returns {id, token}. */
    static String[] enrol(String group) {
        Response t = json("POST", "/v1/enrolment-tokens", ADMIN, Map.of("group", group, "uses", 1));
        assertThat(t.status()).as(t.text()).isEqualTo(201);
        Response e = json("POST", "/v1/enrol", null, Map.of("token", t.json().path("token").asText(), "name",
                unique("pi")));
        assertThat(e.status()).as(e.text()).isEqualTo(201);
        return new String[]{e.json().path("deviceId").asText(), e.json().path("deviceToken").asText()};
    }

    static JsonNode desired(String[] device) {
        Response r = call("GET", "/v1/devices/" + device[0] + "/desired", device[1], null);
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        return r.json();
    }

    static int desiredVersion(String[] device, String function) {
        for (JsonNode f : desired(device).path("functions")) {
            if (f.path("function").asText().equals(function)) {
                return f.path("version").asInt();
            }
        }
        return 0;
    }

    static void report(String[] device, String deployment, String state, String code) {
        Response r = json("POST", "/v1/devices/" + device[0] + "/reports", device[1], code == null
                ? Map.of("deployment", deployment, "state", state)
                : Map.of("deployment", deployment, "state", state, "errorCode", code, "error", "smoke test: boom"));
        assertThat(r.status()).as(r.text()).isEqualTo(200);
    }

    @Test
    void aFollowerAsksOnlyForTheDevicesThatChangedSinceItsCursor() throws Exception {
        KeyPair key = signer();
        String fn = unique("hello");
        publish(Files.readAllBytes(bundle(fn, 1)), key);
        String group = unique("watched");
        String[][] devices = {enrol(group), enrol(group), enrol(group)};
        Response deployed = json("POST", "/v1/deployments", ADMIN, Map.of("function", fn, "target", "group:" + group));
        assertThat(deployed.status()).as(deployed.text()).isEqualTo(201);
        String id = deployed.json().path("id").asText();
        long cursor = deployed.json().path("cursor").asLong();
        assertThat(deployed.json().path("devices")).hasSize(3);
        Thread.sleep(20); // the report lands in a later millisecond than the release
        report(devices[1], id, "succeeded", null);
        JsonNode changed = call("GET", "/v1/deployments/" + id + "?changedSince=" + (cursor + 1), ADMIN, null).json();
        assertThat(changed.path("devices")).hasSize(1);
        assertThat(changed.path("devices").get(0).path("device").asText()).isEqualTo(devices[1][0]);
        assertThat(changed.path("devices").get(0).path("state").asText()).isEqualTo("succeeded");
        assertThat(changed.path("cursor").asLong()).isGreaterThan(cursor);
        assertThat(changed.path("counts").path("succeeded").asLong()).isEqualTo(1);
        // nothing since: no devices, and the cursor stays where it was asked
        long after = changed.path("cursor").asLong() + 1;
        JsonNode none = call("GET", "/v1/deployments/" + id + "?changedSince=" + after, ADMIN, null).json();
        assertThat(none.path("devices")).isEmpty();
        assertThat(none.path("cursor").asLong()).isEqualTo(after);
        Response bad = call("GET", "/v1/deployments/" + id + "?changedSince=yesterday", ADMIN, null);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.text()).contains("changedSince 'yesterday' is not allowed", "cursor");
    }

    @Test
    void signedVersionsArePublishedAndEverythingElseIsRefused() throws Exception {
        KeyPair key = signer();
        String fn = unique("hello");
        byte[] zip = Files.readAllBytes(bundle(fn, 1));
        Response first = publish(zip, key);
        assertThat(first.status()).as(first.text()).isEqualTo(201);
        assertThat(first.json().path("version").asInt()).isEqualTo(1);
        assertThat(publish(zip, key).json().path("created").asBoolean()).isFalse(); // same bundle, same version
        Response second = publish(Files.readAllBytes(bundle(fn, 2)), key);
        assertThat(second.json().path("version").asInt()).isEqualTo(2);

        Response unsigned = call("POST", "/v1/functions", ADMIN, zip);
        assertThat(unsigned.status()).isEqualTo(400);
        assertThat(unsigned.json().path("message").asText()).startsWith("MISSING");
        Response stranger = publish(zip, Signing.generate());
        assertThat(stranger.json().path("message").asText()).startsWith("UNTRUSTED_KEY");
        byte[] tampered = Arrays.copyOf(zip, zip.length);
        String sig = Signing.sign(sha256(zip), key.getPrivate(), key.getPublic()).toJson();
        tampered[tampered.length - 30] ^= 1; // the signature says one digest, the bytes have another
        Response t = call("POST", "/v1/functions", ADMIN, tampered, "X-Bramble-Signature", sig);
        assertThat(t.status()).isEqualTo(400);
        assertThat(t.json().path("type").asText()).isIn("InvalidSignature", "InvalidBundle");
        Response notZip = publish("not a zip".getBytes(), key);
        assertThat(notZip.status()).isEqualTo(400);
        assertThat(notZip.json().path("type").asText()).isEqualTo("InvalidBundle");

        JsonNode versions = call("GET", "/v1/functions/" + fn + "/versions", ADMIN, null).json().path("versions");
        assertThat(versions).hasSize(2);
        assertThat(versions.get(0).path("keyId").asText()).isEqualTo(Signing.keyId(key.getPublic()));
    }

    @Test
    void aGroupDeploymentReachesEveryDeviceAndTheLongPollWakesAtOnce() throws Exception {
        KeyPair key = signer();
        String fn = unique("hello");
        String group = unique("lab");
        publish(Files.readAllBytes(bundle(fn, 1)), key);
        String[] a = enrol(group);
        String[] b = enrol(group);
        long revision = desired(a).path("revision").asLong();
        CompletableFuture<Response> poll = CompletableFuture.supplyAsync(() -> call("GET", "/v1/devices/" + a[0]
                + "/desired?after=" + revision + "&wait=5", a[1], null));
        Thread.sleep(300);
        long t0 = System.nanoTime();
        Response d = json("POST", "/v1/deployments", ADMIN, Map.of("function", fn, "version", "1", "target",
                "group:" + group));
        assertThat(d.status()).as(d.text()).isEqualTo(201);
        JsonNode woke = poll.get().json();
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1_000);
        assertThat(woke.path("revision").asLong()).isGreaterThan(revision);
        JsonNode f = woke.path("functions").get(0);
        assertThat(f.path("function").asText()).isEqualTo(fn);
        assertThat(f.path("version").asInt()).isEqualTo(1);
        assertThat(Signing.BundleSignature.parse(f.path("signature").asText()).sha256())
                .isEqualTo(f.path("sha256").asText());
        assertThat(desiredVersion(b, fn)).isEqualTo(1);

        String id = d.json().path("id").asText();
        report(a, id, "succeeded", null);
        report(b, id, "succeeded", null);
        assertThat(call("GET", "/v1/deployments/" + id, ADMIN, null).json().path("state").asText())
                .isEqualTo("succeeded");

        // The bundle, whole and by range (a resumed download).
        byte[] whole = call("GET", f.path("url").asText(), a[1], null).body();
        assertThat(sha256(whole)).isEqualTo(f.path("sha256").asText());
        Response part = call("GET", f.path("url").asText(), a[1], null, "Range", "bytes=100-");
        assertThat(part.status()).isEqualTo(206);
        assertThat(part.body()).isEqualTo(Arrays.copyOfRange(whole, 100, whole.length));
        for (String bad : new String[]{"bytes=" + whole.length + "-", "bytes=99999999999999999999999-",
                "bytes=200-100", "lines=1-2"}) {
            Response refused = call("GET", f.path("url").asText(), a[1], null, "Range", bad);
            assertThat(refused.status()).as(bad).isEqualTo(416);
            assertThat(new String(refused.body(), java.nio.charset.StandardCharsets.UTF_8)).as(bad)
                    .contains("not satisfiable").contains(whole.length + " bytes");
        }
        // An end past the last byte means the last byte.
        assertThat(call("GET", f.path("url").asText(), a[1], null, "Range", "bytes=1-99999999999999999999999")
                .body()).isEqualTo(Arrays.copyOfRange(whole, 1, whole.length));
    }

    @Test
    void aCanaryThatFailsHaltsTheRolloutAndTheDeviceGoesBackToItsVersion() throws Exception {
        KeyPair key = signer();
        String fn = unique("hello");
        String group = unique("field");
        publish(Files.readAllBytes(bundle(fn, 1)), key);
        publish(Files.readAllBytes(bundle(fn, 2)), key);
        String[] a = enrol(group);
        String[] b = enrol(group);
        String[] c = enrol(group);
        String v1 = json("POST", "/v1/deployments", ADMIN, Map.of("function", fn, "version", "1", "target",
                "group:" + group)).json().path("id").asText();
        for (String[] dev : List.of(a, b, c)) {
            report(dev, v1, "succeeded", null);
        }
        Response d = json("POST", "/v1/deployments", ADMIN, Map.of("function", fn, "version", "2", "target",
                "group:" + group, "canary", 1));
        String id = d.json().path("id").asText();
        String canary = d.json().path("devices").get(0).path("device").asText();
        String[] first = List.of(a, b, c).stream().filter(x -> x[0].equals(canary)).findFirst().orElseThrow();
        assertThat(desiredVersion(first, fn)).isEqualTo(2);
        for (String[] dev : List.of(a, b, c)) {
            if (dev != first) {
                assertThat(desiredVersion(dev, fn)).isEqualTo(1); // waiting for the canary
            }
        }
        report(first, id, "failed", "SMOKE_TEST_FAILED");
        JsonNode status = call("GET", "/v1/deployments/" + id, ADMIN, null).json();
        assertThat(status.path("state").asText()).isEqualTo("halted");
        assertThat(status.path("devices").get(0).path("errorCode").asText()).isEqualTo("SMOKE_TEST_FAILED");
        assertThat(status.path("counts").path("skipped").asInt()).isEqualTo(2);
        for (String[] dev : List.of(a, b, c)) {
            assertThat(desiredVersion(dev, fn)).isEqualTo(1);
        }

        // The same rollout with a good canary: the rest follow, then a rollback puts all back on 1.
        Response again = json("POST", "/v1/deployments", ADMIN, Map.of("function", fn, "version", "2", "target",
                "group:" + group, "canaryPercent", 33)); // 33 % of 3: one canary
        String id2 = again.json().path("id").asText();
        String canary2 = again.json().path("devices").get(0).path("device").asText();
        String[] first2 = List.of(a, b, c).stream().filter(x -> x[0].equals(canary2)).findFirst().orElseThrow();
        report(first2, id2, "succeeded", null);
        for (String[] dev : List.of(a, b, c)) {
            assertThat(desiredVersion(dev, fn)).isEqualTo(2);
            if (dev != first2) {
                report(dev, id2, "succeeded", null);
            }
        }
        assertThat(call("GET", "/v1/deployments/" + id2, ADMIN, null).json().path("state").asText())
                .isEqualTo("succeeded");
        assertThat(call("POST", "/v1/deployments/" + id2 + "/rollback", ADMIN, null).json().path("state").asText())
                .isEqualTo("rolled_back");
        for (String[] dev : List.of(a, b, c)) {
            assertThat(desiredVersion(dev, fn)).isEqualTo(1);
        }
    }

    @Test
    void everyCallIsAuthenticatedAndADeviceOnlyReachesItself() {
        String group = unique("auth");
        String[] a = enrol(group);
        String[] b = enrol(group);
        Response none = call("GET", "/v1/devices", null, null);
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.headers().get("www-authenticate")).contains("Bearer");
        assertThat(call("GET", "/v1/devices", "wrong-token", null).status()).isEqualTo(401);
        assertThat(call("GET", "/v1/devices", a[1], null).status()).isEqualTo(403);
        assertThat(call("GET", "/v1/devices/" + b[0] + "/desired", a[1], null).status()).isEqualTo(403);
        assertThat(json("POST", "/v1/devices/" + b[0] + "/reports", a[1], Map.of("deployment", "x", "state",
                "succeeded")).status()).isEqualTo(403);
        assertThat(call("GET", "/v1/devices/" + a[0] + "/desired", a[1], null).status()).isEqualTo(200);
        assertThat(call("GET", "/v1/devices/" + a[0] + "/desired", ADMIN, null).status()).isEqualTo(200);
        Response bad = call("GET", "/v1/devices/" + a[0] + "/desired?after=soon", a[1], null);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().path("message").asText()).contains("after 'soon' is not a whole number");
        Response used = json("POST", "/v1/enrol", null, Map.of("token", "enrol_nope", "name", "x"));
        assertThat(used.status()).isEqualTo(401);
        assertThat(json("POST", "/v1/deployments", ADMIN, Map.of("function", "f", "version", "1", "target",
                "everywhere")).json().path("message").asText()).contains("use device:ID, group:NAME or tag:K=V");
        // a device is seen when its own token is used (written off the request path, within a few seconds); no
        // one else's request makes it look online
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> call("GET", "/v1/devices/"
                + a[0], ADMIN, null).json().path("lastSeen").isTextual());
        assertThat(call("GET", "/v1/devices/" + b[0], ADMIN, null).json().path("lastSeen").isNull()).isTrue();
    }

    @Test
    void aDeviceDownloadsOnlyTheBundlesItsOwnDesiredStateNames() throws Exception {
        KeyPair key = signer();
        String mine = unique("hello");
        String theirs = unique("secret");
        publish(Files.readAllBytes(bundle(mine, 1)), key);
        byte[] secret = Files.readAllBytes(bundle(theirs, 1));
        publish(secret, key);
        String[] a = enrol(unique("a"));
        String[] b = enrol(unique("b"));
        assertThat(json("POST", "/v1/deployments", ADMIN, Map.of("function", mine, "version", "1", "target",
                "device:" + a[0])).status()).isEqualTo(201);
        assertThat(json("POST", "/v1/deployments", ADMIN, Map.of("function", theirs, "version", "1", "target",
                "device:" + b[0])).status()).isEqualTo(201);
        String url = desired(a).path("functions").get(0).path("url").asText();
        assertThat(call("GET", url, a[1], null).status()).isEqualTo(200);
        // b's bundle (its environment values), and a digest of nothing at all: the same answer, no oracle
        String other = "/v1/bundles/" + sha256(secret);
        Response refused = call("GET", other, a[1], null);
        assertThat(refused.status()).isEqualTo(403);
        assertThat(refused.json().path("message").asText()).contains("only the bundles its desired state names");
        assertThat(call("GET", other, a[1], null, "Range", "bytes=0-").status()).isEqualTo(403);
        assertThat(call("GET", "/v1/bundles/" + "0".repeat(64), a[1], null).status()).isEqualTo(403);
        assertThat(call("GET", other, b[1], null).status()).isEqualTo(200);
        assertThat(call("GET", other, ADMIN, null).status()).isEqualTo(200);
    }

    @Test
    void aRevokedTokenIsRefusedAsRevokedAndTheDeviceLeavesEveryRollout() throws Exception {
        KeyPair key = signer();
        String fn = unique("hello");
        String group = unique("revoke");
        publish(Files.readAllBytes(bundle(fn, 1)), key);
        String[] first = enrol(group);
        String[] second = enrol(group);
        JsonNode started = json("POST", "/v1/deployments", ADMIN, Map.of("function", fn, "version", "1", "target",
                "group:" + group, "canary", 1)).json();
        String id = started.path("id").asText();
        // a is the canary (wave 0, first by id); once it succeeds b, the rest, is pending
        boolean firstIsCanary = started.at("/devices/0/device").asText().equals(first[0]);
        String[] a = firstIsCanary ? first : second;
        String[] b = firstIsCanary ? second : first;
        report(a, id, "succeeded", null);
        assertThat(call("GET", "/v1/deployments/" + id, ADMIN, null).json().at("/devices/1/state").asText())
                .isEqualTo("pending");

        assertThat(call("POST", "/v1/devices/" + b[0] + "/revoke", b[1], null).status()).isEqualTo(403);
        Response revoked = call("POST", "/v1/devices/" + b[0] + "/revoke", ADMIN, null);
        assertThat(revoked.status()).as(revoked.text()).isEqualTo(200);
        assertThat(revoked.json().path("revokedAt").asText()).isNotEmpty();
        Response cut = call("GET", "/v1/devices/" + b[0] + "/desired", b[1], null);
        assertThat(cut.status()).isEqualTo(401);
        assertThat(cut.json().path("type").asText()).isEqualTo("TokenRevoked");
        assertThat(cut.json().path("message").asText()).contains("device " + b[0]).contains("enrol the device "
                + "again");
        JsonNode d = call("GET", "/v1/deployments/" + id, ADMIN, null).json();
        assertThat(d.path("state").asText()).as(d.toString()).isEqualTo("succeeded");
        assertThat(d.path("devices").findValuesAsText("errorCode")).contains("REVOKED");
        // revoking twice changes nothing; the other device is untouched; b is in no new rollout
        assertThat(call("POST", "/v1/devices/" + b[0] + "/revoke", ADMIN, null).status()).isEqualTo(200);
        assertThat(call("GET", "/v1/devices/" + a[0] + "/desired", a[1], null).status()).isEqualTo(200);
        JsonNode next = json("POST", "/v1/deployments", ADMIN, Map.of("function", fn, "version", "1", "target",
                "group:" + group)).json();
        assertThat(next.path("devices")).hasSize(1);
        Response none = json("POST", "/v1/deployments", ADMIN, Map.of("function", fn, "version", "1", "target",
                "device:" + b[0]));
        assertThat(none.status()).isEqualTo(400);
        assertThat(none.json().path("message").asText()).contains("revoked devices are left out");
        assertThat(call("POST", "/v1/devices/nope/revoke", ADMIN, null).status()).isEqualTo(404);
    }

    static byte[] gzipJson(Object body) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(out)) {
            JSON.writeValue(gz, body);
        }
        return out.toByteArray();
    }

    static Response upload(String[] device, dev.bramble.protocol.TelemetryBatch batch) throws IOException {
        return call("POST", "/v1/devices/" + device[0] + "/telemetry", device[1], gzipJson(batch),
                "Content-Type", "application/json", "Content-Encoding", "gzip");
    }

    @Test
    void telemetryIsStoredOncePerSequenceNumberAndReadInTheDevicesOrder() throws Exception {
        String[] device = enrol(unique("telemetry"));
        String outbox = java.util.UUID.randomUUID().toString();
        List<dev.bramble.protocol.TelemetryEntry> first = new java.util.ArrayList<>();
        for (int i = 1; i <= 50; i++) {
            first.add(dev.bramble.protocol.TelemetryEntry.log("fn", 1000 + i, "env", "req-" + i, "line " + i)
                    .withSeq(i));
        }
        Response a = upload(device, new dev.bramble.protocol.TelemetryBatch(outbox, first));
        assertThat(a.status()).as(a.text()).isEqualTo(200);
        assertThat(a.json().path("ackedSeq").asLong()).isEqualTo(50);
        assertThat(a.json().path("stored").asInt()).isEqualTo(50);

        // The same batch again (its answer was lost), then one that overlaps it and goes on with a gap record.
        Response again = upload(device, new dev.bramble.protocol.TelemetryBatch(outbox, first));
        assertThat(again.json().path("stored").asInt()).isZero();
        assertThat(again.json().path("duplicates").asInt()).isEqualTo(50);
        List<dev.bramble.protocol.TelemetryEntry> second = new java.util.ArrayList<>(first.subList(40, 50));
        second.add(dev.bramble.protocol.TelemetryEntry.gap(60, "fn", 1060, 9));
        second.add(dev.bramble.protocol.TelemetryEntry.log("fn", 1061, "env", null, "line 61").withSeq(61));
        second.add(dev.bramble.protocol.TelemetryEntry.metrics(1062, "{\"functions\":{\"fn\":{\"invocations\":3},"
                + "\"other\":{\"invocations\":1}}}").withSeq(62));
        Response b = upload(device, new dev.bramble.protocol.TelemetryBatch(outbox, second));
        assertThat(b.json().path("ackedSeq").asLong()).isEqualTo(62);
        assertThat(b.json().path("stored").asInt()).isEqualTo(3);
        assertThat(b.json().path("duplicates").asInt()).isEqualTo(10);

        JsonNode logs = call("GET", "/v1/devices/" + device[0] + "/logs?function=fn", ADMIN, null).json();
        List<String> lines = new java.util.ArrayList<>();
        logs.path("lines").forEach(l -> lines.add(l.path("kind").asText().equals("gap")
                ? "gap " + l.path("dropped").asLong() : l.path("message").asText()));
        List<String> expected = new java.util.ArrayList<>();
        for (int i = 1; i <= 50; i++) {
            expected.add("line " + i);
        }
        expected.add("gap 9");
        expected.add("line 61");
        assertThat(lines).containsExactlyElementsOf(expected);
        long next = logs.path("next").asLong();
        assertThat(call("GET", "/v1/devices/" + device[0] + "/logs?function=fn&after=" + next, ADMIN, null).json()
                .path("lines")).isEmpty();
        assertThat(call("GET", "/v1/devices/" + device[0] + "/logs?function=fn&since=1050", ADMIN, null).json()
                .path("lines").get(0).path("message").asText()).isEqualTo("line 50");

        JsonNode metrics = call("GET", "/v1/devices/" + device[0] + "/metrics?function=fn", ADMIN, null).json();
        assertThat(metrics.path("snapshot").path("functions").path("fn").path("invocations").asInt()).isEqualTo(3);
        assertThat(metrics.path("snapshot").path("functions").has("other")).isFalse();

        // A wiped device starts a new outbox: its numbers count afresh.
        Response fresh = upload(device, new dev.bramble.protocol.TelemetryBatch(java.util.UUID.randomUUID()
                .toString(), List.of(dev.bramble.protocol.TelemetryEntry.log("fn", 2000, "env", null, "reborn")
                .withSeq(1))));
        assertThat(fresh.json().path("stored").asInt()).isEqualTo(1);
    }

    @Test
    void badTelemetryIsRefusedWithWhatIsWrongAndADeviceOnlyWritesItsOwn() throws Exception {
        String[] a = enrol(unique("telemetry"));
        String[] b = enrol(unique("telemetry"));
        var entry = dev.bramble.protocol.TelemetryEntry.log("fn", 1, null, null, "x");
        Response backwards = upload(a, new dev.bramble.protocol.TelemetryBatch("box-1",
                List.of(entry.withSeq(5), entry.withSeq(4))));
        assertThat(backwards.status()).isEqualTo(400);
        assertThat(backwards.json().path("problems").get(0).asText())
                .contains("entries[1].seq: 4 must be above the previous entry's, 5");
        Response badId = upload(a, new dev.bramble.protocol.TelemetryBatch("no spaces please", List.of()));
        assertThat(badId.json().path("problems").get(0).asText()).contains("outboxId");
        Response notJson = call("POST", "/v1/devices/" + a[0] + "/telemetry", a[1], "{".getBytes(),
                "Content-Type", "application/json");
        assertThat(notJson.status()).isEqualTo(400);
        assertThat(notJson.json().path("message").asText()).contains("not a telemetry batch");
        Response other = call("POST", "/v1/devices/" + b[0] + "/telemetry", a[1], gzipJson(
                new dev.bramble.protocol.TelemetryBatch("box-1", List.of(entry.withSeq(1)))),
                "Content-Encoding", "gzip");
        assertThat(other.status()).isEqualTo(403);
        assertThat(call("GET", "/v1/devices/" + a[0] + "/logs?function=fn", a[1], null).status()).isEqualTo(403);
        assertThat(call("GET", "/v1/devices/" + a[0] + "/logs", ADMIN, null).json().path("message").asText())
                .contains("?function=NAME");
        assertThat(call("GET", "/v1/devices/nope/logs?function=fn", ADMIN, null).status()).isEqualTo(404);
    }

    @Test
    void oneScrapeCoversTheFleetWithTagsAsLabelsAndAHostileSnapshotCannotBreakIt() throws Exception {
        String group = unique("scraped");
        String[] pi = enrol(group);
        String[] hostile = enrol(group);
        Response tagged = json("PUT", "/v1/devices/" + pi[0], ADMIN, Map.of("addTags", Map.of("site", "north",
                "rack-row", "3")));
        assertThat(tagged.status()).as(tagged.text()).isEqualTo(200);
        assertThat(upload(pi, new dev.bramble.protocol.TelemetryBatch("box-1", List.of(
                dev.bramble.protocol.TelemetryEntry.metrics(1000, """
                        {"daemon": {"daemon_resident_bytes": 71000000, "outbox_entries": 12},
                         "functions": {"fn": {"invocations": 7, "errors": 1, "throttles": 0, "timeouts": 0,
                                              "duration_seconds": {"count": 7, "sum": 0.25}}}}
                        """).withSeq(1)))).status()).isEqualTo(200);
        // A device that reports many, oddly named, colliding and non-numeric metrics: its series are capped, its
        // names made Prometheus names, the rest dropped; the exposition stays valid.
        StringBuilder flood = new StringBuilder("{\"daemon\": {\"x.y\": 1, \"x_y\": 2, \"a_total\": 3, \"s\": \"no\", "
                + "\"\\n} 1\\n# evil\": 4");
        for (int i = 0; i < 2 * FleetMetrics.MAX_SERIES_PER_DEVICE; i++) {
            flood.append(", \"m").append(i).append("\": ").append(i);
        }
        flood.append("}, \"functions\": {\"f\\\"} 1\": {\"invocations\": 1}}}");
        assertThat(upload(hostile, new dev.bramble.protocol.TelemetryBatch("box-1", List.of(
                dev.bramble.protocol.TelemetryEntry.metrics(1000, flood.toString()).withSeq(1)))).status())
                .isEqualTo(200);

        Response scrape = call("GET", "/metrics", SCRAPER, null);
        assertThat(scrape.status()).as(scrape.text()).isEqualTo(200);
        assertThat(scrape.headers().get("content-type").get(0)).startsWith("text/plain; version=0.0.4");
        String text = scrape.text();
        String labels = "device=\"" + pi[0] + "\",device_name=\"";
        assertThat(text).containsPattern("bramble_device_invocations\\{" + labels + "[^\"]+\",function=\"fn\","
                + "group=\"" + group + "\",tag_rack_row=\"3\",tag_site=\"north\"} 7.0");
        assertThat(text).containsPattern("bramble_device_duration_seconds_sum\\{" + labels + "[^}]*} 0.25");
        assertThat(text).containsPattern("bramble_device_daemon_resident_bytes\\{" + labels + "[^}]*} 7.1E7");
        assertThat(text).containsPattern("bramble_deployer_devices\\{link=\"online\"} [1-9]");
        assertThat(text).containsPattern("bramble_deployer_telemetry_entries_total [1-9]");
        long hostileSeries = text.lines().filter(l -> l.contains("device=\"" + hostile[0] + "\"")).count();
        assertThat(hostileSeries).isEqualTo(FleetMetrics.MAX_SERIES_PER_DEVICE);
        assertThat(text).contains("bramble_device_x_y{").doesNotContain("bramble_device_s{")
                .doesNotContain("\n# evil");

        // Prometheus's own checker reads the whole exposition as valid.
        promtool(scrape.body(), "check", "metrics");

        // The Grafana dashboard in the repo: every query parses as PromQL, and asks only for series this scrape has.
        JsonNode dashboard = JSON.readTree(Path.of(System.getProperty("bramble.test.grafana")).toFile());
        StringBuilder rules = new StringBuilder("groups:\n- name: dashboard\n  rules:\n");
        java.util.Set<String> asked = new java.util.TreeSet<>();
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asText().replace("$group", ".*");
                rules.append("  - record: dashboard:").append(asked.size()).append("\n    expr: ")
                        .append(JSON.writeValueAsString(expr)).append('\n');
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("bramble_[a-z_]+").matcher(expr);
                while (m.find()) {
                    asked.add(m.group());
                }
            }
        }
        Path rulesFile = Files.writeString(dir.resolve("dashboard-rules.yaml"), rules);
        promtool(null, "check", "rules", rulesFile.toString());
        assertThat(asked).hasSizeGreaterThan(8).allSatisfy(metric -> assertThat(text)
                .containsPattern("\n" + metric + "[{ ]"));

        // The metrics token reaches /metrics and nothing else; a device token does not reach /metrics.
        assertThat(call("GET", "/metrics", ADMIN, null).status()).isEqualTo(200);
        assertThat(call("GET", "/v1/devices", SCRAPER, null).status()).isEqualTo(403);
        assertThat(call("GET", "/v1/devices/" + pi[0] + "/desired", SCRAPER, null).status()).isEqualTo(403);
        assertThat(call("GET", "/metrics", pi[1], null).status()).isEqualTo(403);
        assertThat(call("GET", "/metrics", null, null).status()).isEqualTo(401);

        // A revoked device leaves the scrape but for the count.
        assertThat(call("POST", "/v1/devices/" + hostile[0] + "/revoke", ADMIN, null).status()).isEqualTo(200);
        assertThat(call("GET", "/metrics", SCRAPER, null).text()).doesNotContain("device=\"" + hostile[0] + "\"")
                .containsPattern("bramble_deployer_devices\\{link=\"revoked\"} [1-9]");
    }

    @Test
    void aDeviceRotatesItsTokenInTwoPhasesAndTheOldOneDiesOnlyOnceTheNewOneIsUsed() throws Exception {
        String[] pi = enrol(unique("rotating"));
        String[] other = enrol(unique("rotating"));
        String old = pi[1];
        assertThat(desired(pi).path("rotateToken").asBoolean()).isFalse();
        Response asked = call("POST", "/v1/devices/" + pi[0] + "/rotate-token", ADMIN, null);
        assertThat(asked.status()).as(asked.text()).isEqualTo(200);
        assertThat(asked.json().path("token").path("rotation").asText()).isEqualTo("requested");
        assertThat(desired(pi).path("rotateToken").asBoolean()).isTrue();

        // Only the device itself asks, with its own token.
        assertThat(call("POST", "/v1/devices/" + pi[0] + "/token", ADMIN, null).status()).isEqualTo(403);
        assertThat(call("POST", "/v1/devices/" + pi[0] + "/token", other[1], null).status()).isEqualTo(403);
        // An answer lost on the way: the device asks again, and the first new token is worth nothing.
        String lost = call("POST", "/v1/devices/" + pi[0] + "/token", old, null).json().path("deviceToken").asText();
        Response issued = call("POST", "/v1/devices/" + pi[0] + "/token", old, null);
        assertThat(issued.status()).as(issued.text()).isEqualTo(201);
        String fresh = issued.json().path("deviceToken").asText();
        assertThat(fresh).isNotEqualTo(old).isNotEqualTo(lost).startsWith("dev_");
        assertThat(call("GET", "/v1/devices/" + pi[0] + "/desired", lost, null).status()).isEqualTo(401);
        // Until the new one is used, the old one works: a device that crashed before storing it is not locked out.
        assertThat(call("GET", "/v1/devices/" + pi[0] + "/desired", old, null).status()).isEqualTo(200);
        assertThat(call("GET", "/v1/devices/" + pi[0], ADMIN, null).json().path("token").path("rotation").asText())
                .isEqualTo("issued, not used yet");

        // Its first use makes it the only one.
        Response withNew = call("GET", "/v1/devices/" + pi[0] + "/desired", fresh, null);
        assertThat(withNew.status()).isEqualTo(200);
        assertThat(withNew.json().path("rotateToken").asBoolean()).isFalse();
        assertThat(call("GET", "/v1/devices/" + pi[0] + "/desired", old, null).status()).isEqualTo(401);
        assertThat(call("GET", "/v1/devices/" + pi[0], ADMIN, null).json().path("token").path("rotation").isNull())
                .isTrue();

        // A rotation under way does not survive a revocation: neither token works, both are named revoked.
        call("POST", "/v1/devices/" + other[0] + "/rotate-token", ADMIN, null);
        String pending = call("POST", "/v1/devices/" + other[0] + "/token", other[1], null).json()
                .path("deviceToken").asText();
        assertThat(call("POST", "/v1/devices/" + other[0] + "/revoke", ADMIN, null).status()).isEqualTo(200);
        for (String t : new String[]{other[1], pending}) {
            Response r = call("GET", "/v1/devices/" + other[0] + "/desired", t, null);
            assertThat(r.status()).isEqualTo(401);
            assertThat(r.json().path("type").asText()).isEqualTo("TokenRevoked");
        }
        assertThat(call("POST", "/v1/devices/" + other[0] + "/rotate-token", ADMIN, null).status()).isEqualTo(409);
    }

    /** Runs promtool, from Debian's prometheus package (scripts/test installs it), and asserts it found no problem. */
    private static void promtool(byte[] stdin, String... args) throws Exception {
        Path p = Path.of("/usr/bin/promtool");
        if (!Files.isExecutable(p)) {
            throw new IllegalStateException("promtool is not installed (/usr/bin/promtool); install Debian's "
                    + "prometheus package, as scripts/test does");
        }
        List<String> command = new java.util.ArrayList<>(List.of(p.toString()));
        command.addAll(List.of(args));
        Process promtool = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (var in = promtool.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin);
            }
        }
        String verdict = new String(promtool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(promtool.waitFor()).as(String.join(" ", args) + ": " + verdict).isZero();
    }
}
