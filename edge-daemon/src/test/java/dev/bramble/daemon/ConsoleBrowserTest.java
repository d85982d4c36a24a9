package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bramble.deployer.Deployer;
import dev.bramble.protocol.Signing;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The device's and the fleet's consoles in a real headless Chromium against a real daemon and a real deployer whose
 * agent follows it: the login, a deployed function and its saved test event run from the page, a rollout watched
 * and rolled back, a wrong token that shows no data, and a hostile function's output that stays text.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsoleBrowserTest {
    private static final String ADMIN = "admin-token-for-console-tests-0123456789";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    static Path tmp;
    private Deployer deployer;
    private TestDaemon device;
    private KeyPair author;
    private Browser browser;

    @BeforeAll
    void start() throws Exception {
        deployer = TestDeployers.start(tmp, ADMIN, "");
        author = Signing.generate();
        Path trusted = Files.createDirectories(tmp.resolve("trusted-keys"));
        Files.writeString(trusted.resolve("author.pub"), Signing.pem(author.getPublic()));
        assertThat(fleet("POST", "/v1/signers", Map.of("name", "author", "publicKey",
                Signing.pem(author.getPublic()))).statusCode()).isEqualTo(201);
        String token = TestDaemon.JSON.readTree(fleet("POST", "/v1/enrolment-tokens", Map.of("group", "lab"))
                .body()).path("token").asText();
        device = TestDaemon.start(tmp.resolve("device"), TestDeployers.agentYaml("http://127.0.0.1:"
                + deployer.port(), token, "pi-console", trusted, "") + """
                sync:
                  batch-max-age-ms: 200
                """);
        await("enrolled").atMost(30, SECONDS).until(() -> !deviceId().isEmpty());
        browser = Browser.start();
    }

    @AfterAll
    void stop() {
        for (AutoCloseable c : new AutoCloseable[]{browser, device, deployer}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // best effort
            }
        }
    }

    private String deviceConsole() {
        return device.base() + "/console/";
    }

    private String fleetConsole() {
        return "http://127.0.0.1:" + deployer.port() + "/console/";
    }

    /** A fresh tab state: no token kept from another test. */
    private void signIn(String console, String token) {
        browser.open(console);
        browser.script("sessionStorage.clear(); location.hash = '#/';");
        browser.driver.navigate().refresh();
        browser.type("#token", token);
        browser.click("#login");
    }

    @Test
    void aWrongTokenGetsTheLoginPageAndNeverData() throws Exception {
        device.deployOk(Bundles.withManifest(Bundles.example("echo"), tmp, """
                {"name": "secret-name", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo",
                 "memoryMb": 96}"""));
        for (String console : new String[]{deviceConsole(), fleetConsole()}) {
            signIn(console, "not-the-token");
            assertThat(browser.waitForText("#login-error", "refused")).contains("refused");
            assertThat(browser.bodyText()).doesNotContain("secret-name").doesNotContain("pi-console");
            assertThat(browser.driver.findElements(By.cssSelector("#logout"))).isEmpty();
            // Deep links ask for the token too; the assets carry no data to begin with.
            browser.open(console + "#/functions/secret-name/test");
            browser.shown("#token");
            assertThat(browser.bodyText()).doesNotContain("secret-name");
        }
        // Without the console: the data routes refuse, the assets are served with their policy.
        HttpResponse<String> data = HTTP.send(HttpRequest.newBuilder(URI.create(device.base() + "/v1/functions"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(data.statusCode()).isEqualTo(401);
        HttpResponse<String> page = HTTP.send(HttpRequest.newBuilder(URI.create(deviceConsole())).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Security-Policy").orElse(""))
                .contains("script-src 'self'").contains("frame-ancestors 'none'");
        assertThat(page.body()).doesNotContain("secret-name");
        HttpResponse<String> script = HTTP.send(HttpRequest.newBuilder(URI.create(deviceConsole() + "lib/console.js"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(script.headers().firstValue("Content-Type").orElse("")).contains("javascript");
        assertThat(script.headers().firstValue("X-Content-Type-Options").orElse("")).isEqualTo("nosniff");
    }

    @Test
    void theDeviceConsoleShowsAFunctionAndRunsASavedTestEvent() {
        device.deployOk(Bundles.withManifest(Bundles.example("echo"), tmp, """
                {"name": "echo", "runtime": "java21", "handler": "dev.bramble.examples.echo.Echo",
                 "memoryMb": 96, "description": "returns its event"}"""));
        signIn(deviceConsole(), device.token());
        browser.waitForText("main", "returns its event");
        browser.screenshot("device-dashboard-empty");

        browser.open(deviceConsole() + "#/functions/echo/test");
        browser.type("#event-name", "greeting");
        browser.setValue("#event-json", "{\"who\": \"console\"}");
        browser.click("#save-event");
        browser.waitForText("main", "Saved greeting.");
        JsonNode saved = device.get("/v1/functions/echo/test-events").json();
        assertThat(saved.path("testEvents").get(0).path("event").path("who").asText()).isEqualTo("console");

        // Another visit: the event comes back from the device, and the token from the tab.
        browser.driver.navigate().refresh();
        browser.shown("#saved-events option[value='greeting']");
        new Select(browser.shown("#saved-events")).selectByValue("greeting");
        assertThat(browser.shown("#event-json").getDomProperty("value")).contains("console");
        browser.click("#run-test");
        assertThat(browser.waitForText("#execution-result", "Execution result")).contains("succeeded");
        assertThat(browser.shown("#response").getText()).contains("\"who\": \"console\"").contains("awsRequestId");
        assertThat(browser.shown("#log-tail").getText()).contains("START RequestId").contains("echoing")
                .contains("REPORT RequestId");
        assertThat(browser.shown("#summary").getText()).contains("cold start");
        browser.screenshot("device-test-tab");

        browser.click("#tab-monitor");
        assertThat(browser.waitForText("main", "cold · init")).contains("Recent invocations");
        browser.waitForText("#logs", "echoing");
        browser.screenshot("device-monitor-tab");

        browser.open(deviceConsole() + "#/");
        String tiles = browser.waitForText("dl.tiles", "Invocations");
        assertThat(tiles).containsPattern("Invocations\\s+[1-9]");
        browser.screenshot("device-dashboard");

        // A phone held next to the device: one column, nothing wider than the screen.
        browser.size(390, 844);
        try {
            browser.open(deviceConsole() + "#/functions/echo/test");
            browser.shown("#run-test");
            assertThat((Boolean) browser.script("return document.documentElement.scrollWidth <= window.innerWidth"))
                    .as("no horizontal scrolling on a phone").isTrue();
            browser.screenshot("device-test-tab-phone");
        } finally {
            browser.size(1280, 1000);
        }
    }

    @Test
    void whatAFunctionWritesIsShownAsTextAndNeverRunsAsMarkup() {
        String attack = "<img src=x onerror=\\\"document.title='owned'\\\"><script>document.title='owned'</script>";
        device.deployOk(Bundles.withManifest(Bundles.example("misbehave"), tmp, Bundles.misbehave("hostile",
                "\"async\": {\"maxRetries\": 0}")));
        signIn(deviceConsole(), device.token());
        browser.shown("#logout");
        browser.open(deviceConsole() + "#/functions/hostile/test");
        browser.setValue("#event-json", "{\"logLines\": 1, \"logPrefix\": \"" + attack + "\", \"id\": \"" + attack
                + "\"}");
        browser.click("#run-test");
        browser.waitForText("#execution-result", "succeeded");
        assertThat(browser.shown("#log-tail").getText()).contains("<img src=x onerror=");
        assertThat(browser.shown("#response").getText()).contains("<script>");
        // A failing asynchronous event, its payload as hostile: into the dead letters at once (maxRetries 0).
        assertThat(device.send("POST", "/2015-03-31/functions/hostile/invocations", ("{\"throw\": \"" + attack
                + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8), "X-Amz-Invocation-Type", "Event")
                .status()).isEqualTo(202);
        await("dead letter").atMost(30, SECONDS).until(() -> device.get("/v1/dead-letters?function=hostile")
                .json().path("deadLetters").size() == 1);
        browser.open(deviceConsole() + "#/dead-letters");
        browser.waitForText("main", "hostile");
        browser.driver.findElement(By.cssSelector("main details summary")).click();
        assertThat(browser.waitForText("main details", "<img src=x")).contains("document.title");
        browser.open(deviceConsole() + "#/functions/hostile/monitor");
        browser.waitForText("#logs", "<img src=x onerror=");

        assertThat(browser.driver.getTitle()).doesNotContain("owned");
        assertThat(browser.script("return document.querySelectorAll('main img, main script').length")).isEqualTo(0L);
        // Nothing the page ran broke the policy (an inline script would be reported here).
        assertThat(browser.consoleLog()).noneMatch(l -> l.contains("Content Security Policy"));
    }

    @Test
    void theFleetConsoleWatchesARolloutAdvanceAndRollsItBack() throws Exception {
        String sha1 = publish(hello("v1")).path("sha256").asText();
        publish(hello("v2"));
        signIn(fleetConsole(), ADMIN);
        browser.waitForText("main", "pi-console");
        assertThat(browser.waitForText("main table", "online")).contains("lab");

        String first = deploy("1");
        browser.open(fleetConsole() + "#/rollouts/" + first);
        assertThat(browser.waitForText("#rollout-summary", "1/1 succeeded")).contains("succeeded");
        await("v1 live").atMost(60, SECONDS).until(() -> TestDaemon.liveSha(device.base(), device.token(), "hello")
                .equals(sha1));

        String second = deploy("2");
        browser.open(fleetConsole() + "#/rollouts/" + second);
        browser.waitForText("#rollout-summary", "1/1 succeeded");
        browser.screenshot("fleet-rollout");
        browser.click("#rollback");
        browser.waitFor(Duration.ofSeconds(5)).until(ExpectedConditions.alertIsPresent()).accept();
        browser.waitForText("main", "rolled_back");
        await("back on v1").atMost(60, SECONDS).until(() -> TestDaemon.liveSha(device.base(), device.token(),
                "hello").equals(sha1));

        browser.open(fleetConsole() + "#/");
        browser.waitForText("main table", "hello:1");
        browser.screenshot("fleet-devices");

        // Promote: the alias the CLI's `functions alias` sets.
        browser.open(fleetConsole() + "#/functions");
        new Select(browser.shown("#promote-version-hello")).selectByValue("2");
        browser.click("#promote-hello");
        browser.waitForText("main", "now points at version 2");
        browser.waitForText("main", "stable → 2");
        assertThat(TestDaemon.JSON.readTree(fleet("GET", "/v1/functions/hello/versions", null).body())
                .path("aliases").toString()).contains("{\"name\":\"stable\",\"version\":2}");
        browser.screenshot("fleet-functions");

        // The fleet's log tail: the device's lines, uploaded by its outbox.
        assertThat(device.send("GET", "/fn/hello/?name=fleet-log", null).status()).isEqualTo(200);
        browser.open(fleetConsole() + "#/logs");
        browser.waitForText("#logs", "START RequestId");
        browser.screenshot("fleet-logs");
    }

    private Path hello(String description) {
        return Bundles.withManifest(Bundles.example("hello"), tmp, """
                {"name": "hello", "runtime": "java21", "handler": "dev.bramble.examples.hello.Hello",
                 "memoryMb": 96, "description": "%s"}""".formatted(description));
    }

    private String deploy(String version) throws IOException {
        HttpResponse<String> r = fleet("POST", "/v1/deployments", Map.of("function", "hello", "version", version,
                "target", "group:lab"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return TestDaemon.JSON.readTree(r.body()).path("id").asText();
    }

    private String deviceId() {
        return device.get("/v1/status").json().path("agent").path("deviceId").asText();
    }

    private JsonNode publish(Path zip) throws Exception {
        byte[] bytes = Files.readAllBytes(zip);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + deployer.port()
                        + "/v1/functions"))
                .header("Authorization", "Bearer " + ADMIN)
                .header("X-Bramble-Signature", Signing.sign(sha, author.getPrivate(), author.getPublic()).toJson())
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return TestDaemon.JSON.readTree(r.body());
    }

    private HttpResponse<String> fleet(String method, String path, Object body) {
        try {
            byte[] bytes = body == null ? new byte[0] : TestDaemon.JSON.writeValueAsBytes(body);
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + deployer.port() + path))
                    .header("Authorization", "Bearer " + ADMIN).method(method,
                            HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
