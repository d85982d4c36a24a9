package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bramble.cli.BrambleCliTest.Run;
import dev.bramble.deployer.Deployer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

import static dev.bramble.cli.BrambleCliTest.raw;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bramble deploy --wait/--watch} and {@code bramble rollout …} against a real deployer (SQLite), with the
 * devices played over the real device API by the test: the progress line, NDJSON, and the exit code for each way
 * a rollout ends.
 */
class RolloutCmdsTest {
    private static final String ADMIN = "admin-token-for-the-rollout-tests-01";
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    @TempDir
    static Path dir;
    private static Deployer deployer;
    private static final List<String[]> devices = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        Path config = dir.resolve("deployer.yaml");
        Files.writeString(config, "data-dir: " + dir.resolve("deployer") + "\nhttp:\n  port: 0\nadmin:\n  token: "
                + ADMIN + "\n");
        deployer = Deployer.start(config);
        Path key = dir.resolve("author");
        assertThat(raw("keys", "generate", key.toString()).exit()).isZero();
        Path zip = dir.resolve("hello.zip");
        Files.copy(Path.of(System.getProperty("bramble.test.hello")), zip);
        assertThat(raw("bundle", "sign", zip.toString(), "--key", key + ".key").exit()).isZero();
        assertThat(bramble("signers", "add", "author", "--key", key + ".pub").exit()).isZero();
        Run published = bramble("publish", zip.toString());
        assertThat(published.exit()).as(published.err()).isZero();
        String token = bramble("enrolment-token", "create", "--group", "lab", "--uses", "3").out().trim();
        for (int i = 0; i < 3; i++) {
            JsonNode e = Api.JSON.readTree(send("POST", "/v1/enrol", null, "{\"token\": \"" + token
                    + "\", \"name\": \"pi-" + i + "\"}").body());
            devices.add(new String[]{e.path("deviceId").asText(), e.path("deviceToken").asText()});
        }
    }

    @AfterAll
    static void stop() {
        deployer.close();
    }

    static Run bramble(String... args) {
        List<String> all = new ArrayList<>(List.of("--deployer", "http://127.0.0.1:" + deployer.port(), "--token",
                ADMIN));
        all.addAll(List.of(args));
        return raw(all.toArray(String[]::new));
    }

    static HttpResponse<String> send(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + deployer.port() + path))
                .timeout(Duration.ofSeconds(30)).method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Plays the devices while a command runs: each device whose desired state names a new deployment answers
     * what {@code answer} says for it (a report body, or null to stay silent).
     */
    static Run withDevices(BiFunction<Integer, String, String> answer, String... args) throws Exception {
        CompletableFuture<Run> run = CompletableFuture.supplyAsync(() -> bramble(args));
        Set<String> answered = ConcurrentHashMap.newKeySet();
        while (!run.isDone()) {
            for (int i = 0; i < devices.size(); i++) {
                String[] d = devices.get(i);
                JsonNode desired = Api.JSON.readTree(send("GET", "/v1/devices/" + d[0] + "/desired", d[1], null)
                        .body());
                for (JsonNode f : desired.path("functions")) {
                    String deployment = f.path("deployment").asText("");
                    if (!deployment.isEmpty() && answered.add(d[0] + deployment)) {
                        String report = answer.apply(i, deployment);
                        if (report != null) {
                            assertThat(send("POST", "/v1/devices/" + d[0] + "/reports", d[1], report).statusCode())
                                    .isEqualTo(200);
                        }
                    }
                }
            }
            Thread.sleep(100);
        }
        return run.get(60, TimeUnit.SECONDS);
    }

    static String succeeded(String deployment) {
        return "{\"deployment\": \"" + deployment + "\", \"state\": \"succeeded\"}";
    }

    static String failed(String deployment) {
        return "{\"deployment\": \"" + deployment + "\", \"state\": \"failed\", \"errorCode\": \"SMOKE_TEST_FAILED\", "
                + "\"error\": \"testEvents[0] failed\"}";
    }

    @Test
    void waitPrintsOneProgressLineAndExitsZeroWhenEveryDeviceSucceeded() throws Exception {
        Run r = withDevices((i, id) -> succeeded(id), "deploy", "hello:1", "--to", "group:lab", "--wait");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("to 3 device(s)").endsWith("3/3 succeeded (succeeded)\n");
    }

    @Test
    void aSilentDeviceTimesOutAndTheExitCodeSaysSomeFailed() throws Exception {
        Run r = withDevices((i, id) -> i == 0 ? failed(id) : i == 1 ? succeeded(id) : null, "deploy", "hello:1",
                "--to", "group:lab", "--wait", "--device-timeout", "5s", "--max-failures", "2");
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(RolloutCmds.EXIT_SOME_FAILED);
        assertThat(r.out()).contains("1/3 succeeded, 1 failed, 1 in flight\n")
                .endsWith("1/3 succeeded, 1 failed, 1 timed out (succeeded)\n");
    }

    @Test
    void watchWithJsonPrintsEachChangeAsNdjsonAndAHaltExitsSix() throws Exception {
        Run r = withDevices((i, id) -> failed(id), "--json", "deploy", "hello:1", "--to", "group:lab", "--canary",
                "1", "--watch");
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(RolloutCmds.EXIT_HALTED);
        List<JsonNode> events = new ArrayList<>();
        for (String line : r.out().strip().split("\n")) {
            events.add(Api.JSON.readTree(line)); // every line is a JSON object of its own
        }
        assertThat(events).anySatisfy(e -> {
            assertThat(e.path("from").asText()).isEqualTo("pending");
            assertThat(e.path("to").asText()).isEqualTo("failed");
            assertThat(e.path("errorCode").asText()).isEqualTo("SMOKE_TEST_FAILED");
        });
        assertThat(events.stream().filter(e -> e.path("to").asText().equals("skipped"))).hasSize(2);
        assertThat(events.getLast().path("state").asText()).isEqualTo("halted");
        assertThat(events.getLast().path("reason").asText()).contains("more than maxFailures 0");
    }

    @Test
    void pauseResumeCancelAndListSayWhereARolloutIs() throws Exception {
        Run deploy = bramble("deploy", "hello:1", "--to", "group:lab", "--rate", "1");
        assertThat(deploy.exit()).as(deploy.err()).isZero();
        String id = deploy.out().split(" ")[1].replace(":", "");
        assertThat(bramble("rollout", "pause", id).out()).isEqualTo("deployment " + id + ": paused, 0/3 succeeded, "
                + "1 in flight, 2 waiting\n");
        Run again = bramble("rollout", "pause", id);
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("is paused; it cannot become paused");
        assertThat(bramble("rollout", "list").out()).contains(id, "hello:1", "group:lab", "paused",
                "0/3 succeeded, 1 in flight, 2 waiting");
        assertThat(bramble("rollout", "resume", id).out()).contains(": in_progress,");
        assertThat(bramble("rollout", "cancel", id).out()).contains(": cancelled, 0/3 succeeded, 1 in flight, "
                + "2 skipped");
        assertThat(bramble("rollout", "status", id).exit()).isEqualTo(RolloutCmds.EXIT_STOPPED);
    }

    @Test
    void aBadPlanIsRefusedNamingTheOptionOrTheField() {
        Run ramp = bramble("deploy", "hello:1", "--to", "group:lab", "--ramp-factor", "2");
        assertThat(ramp.exit()).isEqualTo(2);
        assertThat(ramp.err()).contains("give --rate too");
        Run timeout = bramble("deploy", "hello:1", "--to", "group:lab", "--device-timeout", "5x");
        assertThat(timeout.exit()).isEqualTo(2);
        assertThat(timeout.err()).contains("--device-timeout '5x' is not allowed; use seconds, minutes, hours or "
                + "days: 90s, 30m, 2h, 1d");
        Run server = bramble("deploy", "hello:1", "--to", "group:lab", "--rate", "0", "--device-timeout", "1s");
        assertThat(server.exit()).isEqualTo(1);
        assertThat(server.err()).contains("rate.perMinute 0 is not allowed", "deviceTimeoutSeconds 1 is not allowed");
    }

    @Test
    void undeployIsARolloutFollowedLikeAnyOtherAndDeployRefusesNone() throws Exception {
        Run r = withDevices((i, id) -> succeeded(id), "undeploy", "hello", "--to", "group:lab", "--wait");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("hello:none to 3 device(s)").endsWith("3/3 succeeded (succeeded)\n");
        assertThat(bramble("rollout", "list").out()).contains("hello:none");
        Run none = bramble("deploy", "hello:none", "--to", "group:lab");
        assertThat(none.exit()).isEqualTo(2);
        assertThat(none.err()).contains("use bramble undeploy hello --to TARGET");
        Run typo = bramble("undeploy", "helo", "--to", "group:lab");
        assertThat(typo.exit()).isNotZero();
        assertThat(typo.err()).contains("helo");
    }
}
