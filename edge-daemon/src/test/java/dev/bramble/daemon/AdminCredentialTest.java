package dev.bramble.daemon;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Loopback is not a credential: every admin route wants the token the daemon generated into its data directory,
 * from any address, and a path the server would normalise onto an admin route gets no further without it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminCredentialTest {
    @TempDir
    static Path dir;
    TestDaemon d;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "");
        d.deployOk(Bundles.example("echo"));
    }

    @AfterAll
    void stop() {
        d.close();
    }

    @Test
    void theTokenIsGeneratedOnceIntoAFileOnlyItsOwnerReads() throws IOException {
        Path file = d.dataDir().resolve("admin.token");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Files.readString(file).strip()).startsWith("admin_").hasSizeGreaterThan(40)
                .isEqualTo(d.token());
    }

    @Test
    void everyAdminRouteRefusesACallerWithoutTheTokenEvenOnLoopback() {
        List<String[]> routes = List.of(new String[]{"GET", "/v1/status"}, new String[]{"GET", "/metrics"},
                new String[]{"GET", "/v1/functions"}, new String[]{"GET", "/v1/functions/echo"},
                new String[]{"GET", "/v1/functions/echo/logs"}, new String[]{"GET", "/v1/dead-letters"},
                new String[]{"DELETE", "/v1/functions/echo/environments"}, new String[]{"POST", "/v1/deployments"},
                // percent-encoded letters the router decodes onto /v1/status
                new String[]{"GET", "/v1/%73tatus"}, new String[]{"GET", "/v1/functions/%65cho/logs"});
        for (String[] route : routes) {
            TestDaemon.Response none = d.anonymous(route[0], route[1], route[0].equals("POST") ? new byte[10] : null);
            assertThat(none.status()).as("%s %s without a token: %s", route[0], route[1], none.text()).isIn(401, 404);
            if (none.status() == 401) {
                assertThat(none.header("WWW-Authenticate")).contains("Bearer");
                assertThat(none.json().path("message").asText()).contains("admin.token");
            }
            TestDaemon.Response wrong = d.anonymous(route[0], route[1], null, "Authorization",
                    "Bearer admin_not-the-token-0123456789");
            assertThat(wrong.status()).as("%s %s with a wrong token", route[0], route[1]).isIn(403, 404);
            assertThat(wrong.text()).doesNotContain("\"environments\"", "\"events\"", "bramble_");
        }
        assertThat(d.anonymous("GET", "/v1/%73tatus", null).status()).isEqualTo(401);
    }

    @Test
    void healthTheInvokeApiAndFunctionUrlsStayOpenAndTheTokenOpensTheRest() {
        assertThat(d.anonymous("GET", "/v1/health", null).status()).isEqualTo(200);
        assertThat(d.anonymous("POST", "/2015-03-31/functions/echo/invocations",
                "{\"a\":1}".getBytes(StandardCharsets.UTF_8)).json().get("a").asInt()).isEqualTo(1);
        assertThat(d.get("/v1/status").status()).isEqualTo(200);
        assertThat(d.get("/metrics").text()).contains("bramble_invocations");
    }

    @Test
    void aConfiguredTokenReplacesTheGeneratedOne() {
        try (TestDaemon other = TestDaemon.start(dir.resolve("configured"), "admin:\n  token: a-token-of-the-operators-0123\n")) {
            assertThat(other.token()).isEqualTo("a-token-of-the-operators-0123");
            assertThat(other.get("/v1/status").status()).isEqualTo(200);
            assertThat(other.dataDir().resolve("admin.token")).doesNotExist();
        }
    }
}
