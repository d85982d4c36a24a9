package dev.bramble.protocol;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SigningTest {
    @TempDir
    Path dir;

    private static final String DIGEST = "a".repeat(64);

    @Test
    void keysRoundTripThroughPemFilesAndSignaturesVerify() throws Exception {
        Signing.write(Signing.generate(), dir.resolve("author"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("author.key"))))
                .isEqualTo("rw-------");
        assertThat(Files.readString(dir.resolve("author.pub"))).startsWith("-----BEGIN PUBLIC KEY-----\n");
        PrivateKey priv = Signing.readPrivate(dir.resolve("author.key"));
        PublicKey pub = Signing.readPublic(dir.resolve("author.pub"));
        Signing.BundleSignature sig = Signing.sign(DIGEST, priv, pub);
        Signing.BundleSignature back = Signing.BundleSignature.parse(sig.toJson());
        assertThat(back.keyId()).isEqualTo(Signing.keyId(pub)).hasSize(16);
        Signing.verify(DIGEST, back, Signing.trustedKeys(dir));
        assertThatThrownBy(() -> Signing.write(Signing.generate(), dir.resolve("author")))
                .hasMessageContaining("not overwritten");
    }

    @Test
    void everyWayASignatureCanBeWrongHasItsCode() {
        KeyPair author = Signing.generate();
        KeyPair stranger = Signing.generate();
        Map<String, PublicKey> trusted = Map.of(Signing.keyId(author.getPublic()), author.getPublic());
        Signing.BundleSignature good = Signing.sign(DIGEST, author.getPrivate(), author.getPublic());

        assertThatThrownBy(() -> Signing.verify("b".repeat(64), good, trusted))
                .isInstanceOfSatisfying(SignatureException.class, e -> assertThat(e.code())
                        .isEqualTo(SignatureException.Code.DIGEST_MISMATCH));
        Signing.BundleSignature strangers = Signing.sign(DIGEST, stranger.getPrivate(), stranger.getPublic());
        assertThatThrownBy(() -> Signing.verify(DIGEST, strangers, trusted))
                .isInstanceOfSatisfying(SignatureException.class, e -> assertThat(e.code())
                        .isEqualTo(SignatureException.Code.UNTRUSTED_KEY));
        // A stranger's signature presented under the author's key id.
        Signing.BundleSignature forged = new Signing.BundleSignature(good.keyId(), DIGEST, strangers.signature());
        assertThatThrownBy(() -> Signing.verify(DIGEST, forged, trusted))
                .isInstanceOfSatisfying(SignatureException.class, e -> assertThat(e.code())
                        .isEqualTo(SignatureException.Code.BAD_SIGNATURE));
        assertThatThrownBy(() -> Signing.BundleSignature.parse("{\"algorithm\": \"RSA\"}"))
                .isInstanceOfSatisfying(SignatureException.class, e -> assertThat(e.code())
                        .isEqualTo(SignatureException.Code.MALFORMED));
    }

    @Test
    void keysMadeByOpensslAreRead() throws Exception {
        Path key = dir.resolve("ossl.key");
        Path pub = dir.resolve("ossl.pub");
        run("openssl", "genpkey", "-algorithm", "ed25519", "-out", key.toString());
        run("openssl", "pkey", "-in", key.toString(), "-pubout", "-out", pub.toString());
        PublicKey p = Signing.readPublic(pub);
        Signing.verify(DIGEST, Signing.sign(DIGEST, Signing.readPrivate(key), p), Map.of(Signing.keyId(p), p));
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
    }
}
