package dev.bramble.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Bundle signatures: Ed25519 with the JDK's own provider, over the bundle's SHA-256.
 *
 * <p>Keys are PEM files: the private key PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}, mode 0600), the public key
 * X.509 SubjectPublicKeyInfo ({@code -----BEGIN PUBLIC KEY-----}), the formats {@code openssl genpkey -algorithm
 * ed25519} and {@code openssl pkey -pubout} write. A key's id is the first 16 hex digits of the SHA-256 of its
 * public key's DER. A signature is a small JSON document, {@code {"algorithm":"Ed25519","keyId":…,"sha256":…,
 * "signature":<base64>}}, where the signed bytes are the UTF-8 of {@code bramble-bundle-v1:<sha256 hex>}.
 */
public final class Signing {
    public static final String ALGORITHM = "Ed25519";
    private static final String CONTEXT = "bramble-bundle-v1:";
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private Signing() {
    }

    /** A signature of one bundle digest. */
    public record BundleSignature(String keyId, String sha256, byte[] signature) {
        /** The JSON document that travels with a bundle. */
        public String toJson() {
            ObjectNode n = JSON.createObjectNode();
            n.put("algorithm", ALGORITHM);
            n.put("keyId", keyId);
            n.put("sha256", sha256);
            n.put("signature", Base64.getEncoder().encodeToString(signature));
            return n.toString();
        }

        /**
         * Reads the JSON document.
         *
         * @throws SignatureException naming what is wrong with it
         */
        public static BundleSignature parse(String json) {
            JsonNode n;
            try {
                n = JSON.readTree(json);
            } catch (IOException e) {
                throw new SignatureException(SignatureException.Code.MALFORMED, "the signature is not JSON: "
                        + e.getMessage());
            }
            if (n == null || !n.isObject() || !ALGORITHM.equals(n.path("algorithm").asText())
                    || !n.path("keyId").isTextual() || !SHA256.matcher(n.path("sha256").asText()).matches()
                    || !n.path("signature").isTextual()) {
                throw new SignatureException(SignatureException.Code.MALFORMED, "a signature is {\"algorithm\": "
                        + "\"Ed25519\", \"keyId\", \"sha256\" (64 hex digits), \"signature\" (base64)}");
            }
            try {
                return new BundleSignature(n.get("keyId").asText(), n.get("sha256").asText(),
                        Base64.getDecoder().decode(n.get("signature").asText()));
            } catch (IllegalArgumentException e) {
                throw new SignatureException(SignatureException.Code.MALFORMED, "the signature is not base64");
            }
        }
    }

    /** A new Ed25519 key pair. */
    public static KeyPair generate() {
        try {
            return KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
    }

    /** Writes {@code <base>.key} (0600) and {@code <base>.pub}; refuses to overwrite either. */
    public static void write(KeyPair pair, Path base) throws IOException {
        Path key = base.resolveSibling(base.getFileName() + ".key");
        Path pub = base.resolveSibling(base.getFileName() + ".pub");
        if (Files.exists(key) || Files.exists(pub)) {
            throw new IOException(key + " or " + pub + " exists already; keys are not overwritten");
        }
        Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(key, pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
        Files.writeString(pub, pem("PUBLIC KEY", pair.getPublic().getEncoded()));
    }

    public static PrivateKey readPrivate(Path file) throws IOException {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(der(file,
                    "PRIVATE KEY")));
        } catch (GeneralSecurityException e) {
            throw new IOException(file + " is not an Ed25519 private key (PKCS#8 PEM): " + e.getMessage(), e);
        }
    }

    public static PublicKey readPublic(Path file) throws IOException {
        return publicKey(Files.readString(file), file.toString());
    }

    /** A public key from PEM text; {@code source} names it in errors. */
    public static PublicKey publicKey(String pem, String source) throws IOException {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(der(pem, "PUBLIC KEY",
                    source)));
        } catch (GeneralSecurityException e) {
            throw new IOException(source + " is not an Ed25519 public key (PEM): " + e.getMessage(), e);
        }
    }

    /** The PEM text of a public key. */
    public static String pem(PublicKey key) {
        return pem("PUBLIC KEY", key.getEncoded());
    }

    /** A key's id: 16 hex digits of the SHA-256 of its DER. */
    public static String keyId(PublicKey key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()), 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Signs a bundle digest. */
    public static BundleSignature sign(String sha256, PrivateKey key, PublicKey publicKey) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initSign(key);
            s.update((CONTEXT + sha256).getBytes(StandardCharsets.UTF_8));
            return new BundleSignature(keyId(publicKey), sha256, s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("signing failed: " + e.getMessage(), e);
        }
    }

    /**
     * Checks that {@code signature} is a valid signature of {@code sha256} by one of {@code trusted} (by key id).
     *
     * @throws SignatureException with the reason as a code
     */
    public static void verify(String sha256, BundleSignature signature, Map<String, PublicKey> trusted) {
        if (!signature.sha256().equals(sha256)) {
            throw new SignatureException(SignatureException.Code.DIGEST_MISMATCH, "the signature is of "
                    + signature.sha256() + ", the bundle's SHA-256 is " + sha256);
        }
        PublicKey key = trusted.get(signature.keyId());
        if (key == null) {
            throw new SignatureException(SignatureException.Code.UNTRUSTED_KEY, "signed by key " + signature.keyId()
                    + ", which is not trusted; trusted: " + new TreeMap<>(trusted).keySet());
        }
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            s.update((CONTEXT + sha256).getBytes(StandardCharsets.UTF_8));
            if (!s.verify(signature.signature())) {
                throw new SignatureException(SignatureException.Code.BAD_SIGNATURE, "the signature by key "
                        + signature.keyId() + " does not match the bundle's SHA-256");
            }
        } catch (GeneralSecurityException e) {
            throw new SignatureException(SignatureException.Code.BAD_SIGNATURE, "the signature could not be "
                    + "checked: " + e.getMessage());
        }
    }

    /** The trusted keys in a directory ({@code *.pub}, PEM), by key id. Unreadable files are skipped. */
    public static Map<String, PublicKey> trustedKeys(Path dir) {
        Map<String, PublicKey> keys = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return keys;
        }
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".pub")).toList()) {
                try {
                    PublicKey k = readPublic(f);
                    keys.put(keyId(k), k);
                } catch (IOException e) {
                    System.getLogger(Signing.class.getName()).log(System.Logger.Level.WARNING,
                            "keys.unreadable file={0} error={1}", f, e.getMessage());
                }
            }
        } catch (IOException e) {
            return keys;
        }
        return keys;
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    private static byte[] der(Path file, String type) throws IOException {
        return der(Files.readString(file), type, file.toString());
    }

    private static byte[] der(String pem, String type, String source) throws IOException {
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        int b = pem.indexOf(begin);
        int e = pem.indexOf(end);
        if (b < 0 || e < b) {
            throw new IOException(source + " holds no '" + begin + "' block");
        }
        try {
            return Base64.getMimeDecoder().decode(pem.substring(b + begin.length(), e));
        } catch (IllegalArgumentException ex) {
            throw new IOException(source + ": the PEM block is not base64", ex);
        }
    }
}
