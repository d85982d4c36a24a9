package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bramble.deployer.Deployer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.assertj.core.api.Assertions.assertThat;

/** bramble against a real deployer (SQLite): the author's path from keys to a rollout, and the exit codes. */
class BrambleCliTest {
    private static final String ADMIN = "admin-token-for-the-cli-tests-0123";
    @TempDir
    static Path dir;
    private static Deployer deployer;

    @BeforeAll
    static void start() throws IOException {
        Path config = dir.resolve("deployer.yaml");
        Files.writeString(config, "data-dir: " + dir.resolve("deployer") + "\nhttp:\n  port: 0\nadmin:\n  token: "
                + ADMIN + "\n");
        deployer = Deployer.start(config);
    }

    @AfterAll
    static void stop() {
        deployer.close();
    }

    record Run(int exit, String out, String err) {
        JsonNode json() throws IOException {
            return Api.JSON.readTree(out);
        }
    }

    static Run bramble(String... args) {
        List<String> all = new ArrayList<>(List.of("--deployer", "http://127.0.0.1:" + deployer.port(), "--token",
                ADMIN));
        all.addAll(List.of(args));
        return raw(all.toArray(String[]::new));
    }

    static Run raw(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Bramble.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(exit, out.toString(), err.toString());
    }

    /** The hello example's manifest and jar, as an author has them before building a bundle. */
    static List<Path> unpackHello() throws IOException {
        Path src = dir.resolve("src");
        Files.createDirectories(src);
        List<Path> jars = new ArrayList<>();
        try (ZipFile zip = new ZipFile(System.getProperty("bramble.test.hello"))) {
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                if (e.isDirectory()) {
                    continue;
                }
                Path to = src.resolve(Path.of(e.getName()).getFileName().toString());
                try (InputStream in = zip.getInputStream(e)) {
                    Files.copy(in, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
                if (to.toString().endsWith(".jar")) {
                    jars.add(to);
                }
            }
        }
        return jars;
    }

    @Test
    void buildingTheSameBundleTwiceGivesTheSameBytes() throws Exception {
        List<Path> jars = unpackHello();
        List<byte[]> built = new ArrayList<>();
        for (String name : List.of("a.zip", "b.zip")) {
            List<String> build = new ArrayList<>(List.of("bundle", "build", "--manifest",
                    dir.resolve("src/function.json").toString(), "-o", dir.resolve(name).toString()));
            jars.forEach(j -> build.add(j.toString()));
            Run r = raw(build.toArray(String[]::new));
            assertThat(r.exit()).as(r.err()).isZero();
            built.add(Files.readAllBytes(dir.resolve(name)));
            Thread.sleep(2_100); // past the zip format's 2-second time resolution
        }
        assertThat(built.get(1)).isEqualTo(built.get(0));
        List<String> twice = new ArrayList<>(List.of("bundle", "build", "--manifest",
                dir.resolve("src/function.json").toString(), "-o", dir.resolve("c.zip").toString(),
                jars.getFirst().toString(), jars.getFirst().toString()));
        Run dup = raw(twice.toArray(String[]::new));
        assertThat(dup.exit()).isNotZero();
        assertThat(dup.err()).contains("two jars are named " + jars.getFirst().getFileName());
    }

    @Test
    void jarsWithFlagsOrALambdaZipBecomeABundle() throws Exception {
        List<Path> jars = unpackHello();
        String handler = Api.JSON.readTree(Files.readAllBytes(dir.resolve("src/function.json")))
                .path("handler").asText();
        Path flagged = dir.resolve("flagged.zip");
        List<String> build = new ArrayList<>(List.of("bundle", "build", "--name", "hi", "--handler", handler,
                "--memory", "256", "-o", flagged.toString()));
        jars.forEach(j -> build.add(j.toString()));
        Run r = raw(build.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(raw("--json", "bundle", "inspect", flagged.toString()).json().path("function").asText())
                .isEqualTo("hi");
        // a zip that holds its function.json (Lambda's layout with one added) is rebuilt from itself alone
        Path again = dir.resolve("again.zip");
        Run rebuilt = raw("bundle", "build", "-o", again.toString(), flagged.toString());
        assertThat(rebuilt.exit()).as(rebuilt.err()).isZero();
        assertThat(rebuilt.out()).contains("hi, sha256 ");
        Run none = raw("bundle", "build", "-o", dir.resolve("none.zip").toString(), jars.getFirst().toString());
        assertThat(none.exit()).isNotZero();
        assertThat(none.err()).contains("no function.json: give --manifest, a zip that holds one, or --name and "
                + "--handler");
        assertThat(Files.exists(dir.resolve("none.zip"))).isFalse();
    }

    @Test
    void anAuthorGoesFromKeysToARollout() throws Exception {
        List<Path> jars = unpackHello();
        Path key = dir.resolve("author");
        Run keys = raw("keys", "generate", key.toString());
        assertThat(keys.exit()).as(keys.err()).isZero();
        assertThat(keys.out()).contains("author.key");

        Path bundle = dir.resolve("hello.zip");
        List<String> build = new ArrayList<>(List.of("bundle", "build", "--manifest",
                dir.resolve("src/function.json").toString(), "-o", bundle.toString()));
        jars.forEach(j -> build.add(j.toString()));
        Run built = raw(build.toArray(String[]::new));
        assertThat(built.exit()).as(built.err()).isZero();
        assertThat(raw("bundle", "sign", bundle.toString(), "--key", key + ".key").exit()).isZero();
        Run inspect = raw("--json", "bundle", "inspect", bundle.toString());
        assertThat(inspect.json().path("function").asText()).isEqualTo("hello");
        assertThat(inspect.json().path("signature").asText()).hasSize(16);

        assertThat(bramble("signers", "add", "author", "--key", key + ".pub").exit()).isZero();
        Run published = bramble("--json", "publish", bundle.toString());
        assertThat(published.exit()).as(published.err()).isZero();
        assertThat(published.json().path("version").asInt()).isEqualTo(1);
        assertThat(published.err()).contains("uploading 100%");
        assertThat(bramble("functions", "list").out()).contains("hello");
        assertThat(bramble("--json", "functions", "versions", "hello").json().path("versions")).hasSize(1);

        String token = bramble("enrolment-token", "create", "--group", "lab").out().trim();
        HttpResponse<String> enrolled = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + deployer.port() + "/v1/enrol")).POST(HttpRequest.BodyPublishers.ofString(
                "{\"token\": \"" + token + "\", \"name\": \"pi-1\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(enrolled.statusCode()).isEqualTo(201);
        assertThat(bramble("--json", "devices", "list").json().path("devices")).hasSize(1);

        assertThat(bramble("functions", "alias", "hello", "stable", "1").exit()).isZero();
        assertThat(bramble("functions", "versions", "hello").out()).contains("stable");
        assertThat(bramble("functions", "alias", "hello", "stable", "9").exit()).isEqualTo(1);
        Run deploy = bramble("--json", "deploy", "hello:stable", "--to", "group:lab");
        assertThat(deploy.exit()).as(deploy.err()).isZero();
        String id = deploy.json().path("id").asText();
        Run status = bramble("rollout", "status", id);
        assertThat(status.out()).contains("in_progress").contains("pending");
        assertThat(bramble("--json", "rollback", id).json().path("state").asText()).isEqualTo("rolled_back");
        assertThat(bramble("rollout", "status", id).exit()).isEqualTo(RolloutCmds.EXIT_STOPPED);
    }

    @Test
    void exitCodesSayWhatWentWrong() {
        Run wrongToken = raw("--deployer", "http://127.0.0.1:" + deployer.port(), "--token", "nope", "functions",
                "list");
        assertThat(wrongToken.exit()).isEqualTo(4);
        assertThat(wrongToken.err()).contains("401");
        Run unreachable = raw("--deployer", "http://127.0.0.1:1", "--token", ADMIN, "functions", "list");
        assertThat(unreachable.exit()).isEqualTo(3);
        assertThat(unreachable.err()).contains("cannot reach");
        Run usage = bramble("deploy", "hello:1", "--to", "group:lab", "--canary", "lots");
        assertThat(usage.exit()).isEqualTo(2);
        assertThat(usage.err()).contains("--canary 'lots' is not allowed");
        Run failed = bramble("deploy", "nope:1", "--to", "group:lab");
        assertThat(failed.exit()).isEqualTo(1);
        Run unsigned = bramble("publish", dir.resolve("missing.zip").toString());
        assertThat(unsigned.exit()).isEqualTo(1);
        assertThat(unsigned.err()).contains("sign first");
        Run completion = raw("generate-completion");
        assertThat(completion.exit()).isZero();
        assertThat(completion.out()).contains("complete -F");
    }
    @Test
    void aProfileGivesTheDeployerAndItsTokenSoNoFlagOrVariableIsNeeded() throws Exception {
        Path config = dir.resolve("profiles/config.yaml");
        Path token = privateFile(dir.resolve("lab.token"), ADMIN + "\n");
        Path wrong = privateFile(dir.resolve("wrong.token"), "not-the-token\n");
        String url = "http://127.0.0.1:" + deployer.port();
        assertThat(raw("--config", config.toString(), "profile", "set", "lab", "--url", url, "--token-file",
                token.toString()).exit()).isZero();
        assertThat(raw("--config", config.toString(), "profile", "set", "stale", "--url", url, "--token-file",
                wrong.toString()).exit()).isZero();

        Run list = raw("--config", config.toString(), "profile", "list");
        assertThat(list.out()).contains("* lab  " + url).contains("  stale  " + url);
        assertThat(raw("--config", config.toString(), "functions", "list").exit()).isZero();
        Run stale = raw("--config", config.toString(), "--profile", "stale", "functions", "list");
        assertThat(stale.exit()).isEqualTo(4);
        Run console = raw("--config", config.toString(), "--json", "console");
        assertThat(console.exit()).as(console.err()).isZero();
        assertThat(console.json().path("console").asText()).isEqualTo(url + "/console/");
        assertThat(console.json().path("profile").asText()).isEqualTo("lab");
        assertThat(raw("--config", config.toString(), "--profile", "stale", "console").exit()).isEqualTo(4);

        Run unknown = raw("--config", config.toString(), "--profile", "prod", "functions", "list");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("no profile 'prod'").contains("it has lab, stale");
        // the file stayed as written: a mapping the next run reads
        assertThat(Files.readString(config)).contains("default: lab").contains("token-file: " + token);
    }

    @Test
    void theDefaultProfilesTokenIsNeverSentToAnotherDeployer() throws Exception {
        Path config = dir.resolve("other/config.yaml");
        Path token = privateFile(dir.resolve("other.token"), ADMIN);
        assertThat(raw("--config", config.toString(), "profile", "set", "lab", "--url", "http://127.0.0.1:"
                + deployer.port(), "--token-file", token.toString()).exit()).isZero();
        List<String> authorization = new java.util.concurrent.CopyOnWriteArrayList<>();
        com.sun.net.httpserver.HttpServer elsewhere = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        elsewhere.createContext("/", ex -> {
            authorization.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
            byte[] body = "{\"functions\":[]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        elsewhere.start();
        try {
            String other = "http://127.0.0.1:" + elsewhere.getAddress().getPort();
            assertThat(raw("--config", config.toString(), "--deployer", other, "functions", "list").exit()).isZero();
            assertThat(authorization).containsExactly("null");
            // naming the profile is the operator's choice to send its token there
            assertThat(raw("--config", config.toString(), "--profile", "lab", "--deployer", other, "functions",
                    "list").exit()).isZero();
            assertThat(authorization).containsExactly("null", "Bearer " + ADMIN);
        } finally {
            elsewhere.stop(0);
        }
    }

    @Test
    void aBusyDeployerIsAskedAgainAfterItsRetryAfterAndABusyOneSaysSo() throws Exception {
        // A stand-in for a deployer (or the balancer in front of replicas) answering 503: the CLI's HTTP client
        // is what is under test.
        java.util.concurrent.atomic.AtomicInteger busyFor = new java.util.concurrent.atomic.AtomicInteger(2);
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        com.sun.net.httpserver.HttpServer busy = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        busy.createContext("/", ex -> {
            asked.incrementAndGet();
            boolean stillBusy = busyFor.getAndDecrement() > 0;
            byte[] body = (stillBusy ? "{\"type\":\"Unavailable\",\"message\":\"the database is busy\"}"
                    : "{\"functions\":[]}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            if (stillBusy) {
                ex.getResponseHeaders().add("Retry-After", "1");
            }
            ex.sendResponseHeaders(stillBusy ? 503 : 200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        busy.start();
        try {
            String url = "http://127.0.0.1:" + busy.getAddress().getPort();
            long t0 = System.nanoTime();
            assertThat(raw("--deployer", url, "--token", ADMIN, "functions", "list").exit()).isZero();
            assertThat(asked.get()).isEqualTo(3);
            assertThat(java.time.Duration.ofNanos(System.nanoTime() - t0)).as("Retry-After: 1, twice")
                    .isGreaterThanOrEqualTo(java.time.Duration.ofSeconds(2));
            busyFor.set(Integer.MAX_VALUE);
            asked.set(0);
            Run r = raw("--deployer", url, "--token", ADMIN, "functions", "list");
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).contains("503 Unavailable: the database is busy");
            assertThat(asked.get()).isEqualTo(3);
        } finally {
            busy.stop(0);
        }
    }

    @Test
    void aBadConfigFileIsExplainedWholeAndNothingIsSent() throws Exception {
        Path config = dir.resolve("bad.yaml");
        Files.writeString(config, """
                default: prod
                colour: blue
                profiles:
                  lab:
                    deployer: ftp://deployer
                    token: in-the-file
                  "a b":
                    deployer: http://x:1
                """);
        Run r = raw("--config", config.toString(), "functions", "list");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(config.toString()).contains("colour is not a known key; allowed: default, "
                + "profiles").contains("profiles.lab.token is not a known key; allowed: ca-file, deployer, token-file")
                .contains("profiles.lab.deployer 'ftp://deployer' is not allowed").contains("profiles.a b: the name "
                + "is not allowed");
        Files.writeString(config, "profiles: [\n");
        Run notYaml = raw("--config", config.toString(), "functions", "list");
        assertThat(notYaml.exit()).isEqualTo(2);
        assertThat(notYaml.err()).contains("it is not YAML");
        Run missingToken = raw("--config", config.toString(), "profile", "set", "x", "--url", "http://h:1",
                "--token-file", dir.resolve("nowhere").toString());
        assertThat(missingToken.exit()).isEqualTo(2);
        assertThat(missingToken.err()).contains("cannot be read");
    }

    @Test
    void aTokenFileOthersCanReadIsUsedWithAWarning() throws Exception {
        Path config = dir.resolve("open/config.yaml");
        Path token = dir.resolve("open.token");
        Files.writeString(token, ADMIN);
        Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        raw("--config", config.toString(), "profile", "set", "lab", "--url", "http://127.0.0.1:" + deployer.port(),
                "--token-file", token.toString());
        Run r = raw("--config", config.toString(), "functions", "list");
        assertThat(r.exit()).isZero();
        assertThat(r.err()).contains("warning: " + token).contains("can be read by other users").contains("chmod 600");
    }

    @Test
    void enrolmentTokensTakeATtlAndTagsAndDevicesCanBeRevoked() throws Exception {
        Run token = bramble("enrolment-token", "create", "--group", "north", "--ttl", "2h", "--tag", "site=north",
                "--tag", "floor=2", "--uses", "2");
        assertThat(token.exit()).as(token.err()).isZero();
        HttpResponse<String> enrolled = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + deployer.port() + "/v1/enrol")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"token\": \"" + token.out().strip()
                        + "\", \"name\": \"pi-north\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(enrolled.statusCode()).as(enrolled.body()).isEqualTo(201);
        String id = Api.JSON.readTree(enrolled.body()).path("deviceId").asText();
        JsonNode shown = bramble("--json", "devices", "show", id).json();
        assertThat(shown.path("group").asText()).isEqualTo("north");
        assertThat(shown.path("tags").path("site").asText()).isEqualTo("north");
        assertThat(shown.path("tags").path("floor").asText()).isEqualTo("2");

        // Tags and groups change in place: the tags not named stay.
        Run tagged = bramble("devices", "tag", id, "rack=7", "floor=3");
        assertThat(tagged.exit()).as(tagged.err()).isZero();
        assertThat(tagged.out()).isEqualTo("device " + id + ": group north, tags {\"floor\":\"3\",\"rack\":\"7\","
                + "\"site\":\"north\"}\n");
        assertThat(bramble("--json", "devices", "untag", id, "site", "rack").json().path("tags").toString())
                .isEqualTo("{\"floor\":\"3\"}");
        assertThat(bramble("--json", "devices", "set-group", id, "south").json().path("group").asText())
                .isEqualTo("south");
        assertThat(bramble("devices", "set-group", id, "--none").out()).contains("group none");
        Run badTag = bramble("devices", "tag", id, "rack");
        assertThat(badTag.exit()).isEqualTo(2);
        assertThat(badTag.err()).contains("tag 'rack' is not allowed; use KEY=VALUE");
        Run badKey = bramble("devices", "untag", id, "no spaces");
        assertThat(badKey.exit()).isEqualTo(1);
        assertThat(badKey.err()).contains("tag key 'no spaces' is not allowed");
        assertThat(bramble("devices", "set-group", id).exit()).isEqualTo(2);
        assertThat(bramble("devices", "tag", "dev-nope", "a=b").exit()).isEqualTo(1);

        Run revoked = bramble("devices", "revoke", id);
        assertThat(revoked.exit()).as(revoked.err()).isZero();
        assertThat(revoked.out()).contains("device " + id + " revoked at ");
        assertThat(bramble("devices", "list").out()).contains(id);
        assertThat(bramble("devices", "revoke", "dev-nope").exit()).isEqualTo(1);

        Run ttl = bramble("enrolment-token", "create", "--ttl", "forever");
        assertThat(ttl.exit()).isEqualTo(2);
        assertThat(ttl.err()).contains("--ttl 'forever' is not allowed").contains("10m, 12h, 30d");
        assertThat(bramble("enrolment-token", "create", "--ttl", "400d").err()).contains("60 seconds to a year");
        Run tag = bramble("enrolment-token", "create", "--tag", "site");
        assertThat(tag.exit()).isEqualTo(2);
        assertThat(tag.err()).contains("--tag 'site' is not allowed; use KEY=VALUE");
    }

    private static Path privateFile(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return file;
    }
}
