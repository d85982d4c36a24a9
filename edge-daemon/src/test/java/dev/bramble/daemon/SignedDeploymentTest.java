package dev.bramble.daemon;

import dev.bramble.protocol.Signing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

/** The local POST /v1/deployments takes signed bundles only, unless security.allow-unsigned says otherwise. */
class SignedDeploymentTest {
    @TempDir
    Path tmp;

    @Test
    void onlyBundlesSignedByATrustedKeyAreDeployedByDefault() throws Exception {
        KeyPair author = Signing.generate();
        Path trusted = Files.createDirectories(tmp.resolve("trusted-keys"));
        Files.writeString(trusted.resolve("author.pub"), Signing.pem(author.getPublic()));
        try (TestDaemon d = TestDaemon.start(tmp.resolve("data"), """
                security:
                  allow-unsigned: false
                agent:
                  trusted-keys: %s
                """.formatted(trusted))) {
            byte[] zip = Files.readAllBytes(Bundles.example("hello"));
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(zip));

            TestDaemon.Response unsigned = d.send("POST", "/v1/deployments", zip);
            assertThat(unsigned.status()).isEqualTo(400);
            assertThat(unsigned.json().path("message").asText()).startsWith("MISSING")
                    .contains("security.allow-unsigned");
            KeyPair stranger = Signing.generate();
            TestDaemon.Response untrusted = d.send("POST", "/v1/deployments", zip, "X-Bramble-Signature",
                    Signing.sign(sha, stranger.getPrivate(), stranger.getPublic()).toJson());
            assertThat(untrusted.json().path("message").asText()).startsWith("UNTRUSTED_KEY");
            TestDaemon.Response wrongDigest = d.send("POST", "/v1/deployments", zip, "X-Bramble-Signature",
                    Signing.sign("0".repeat(64), author.getPrivate(), author.getPublic()).toJson());
            assertThat(wrongDigest.json().path("message").asText()).startsWith("DIGEST_MISMATCH");
            assertThat(d.get("/v1/functions").json().path("functions")).isEmpty();

            TestDaemon.Response signed = d.send("POST", "/v1/deployments", zip, "X-Bramble-Signature",
                    Signing.sign(sha, author.getPrivate(), author.getPublic()).toJson());
            assertThat(signed.status()).as(signed.text()).isEqualTo(201);
            assertThat(d.send("GET", "/fn/hello/?name=signed", null).text()).contains("signed");
        }
    }
}
