package dev.bramble.protocol;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;

/**
 * A TLS context from the PEM files operators already have (mosquitto's, openssl's): CA certificates to trust, and a
 * client certificate and key. With CA certificates, only they are trusted; without, the JDK's default trust.
 */
public final class PemTls {
    private PemTls() {
    }

    /**
     * @param caFile   PEM certificates to trust, or empty for the JDK's default trust store
     * @param certFile a client certificate chain (PEM), or empty
     * @param keyFile  its PKCS#8 key (PEM), or empty; goes with {@code certFile}
     */
    public static SSLContext context(String caFile, String certFile, String keyFile)
            throws IOException, GeneralSecurityException {
        TrustManagerFactory tmf = null;
        if (!caFile.isEmpty()) {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            for (Certificate c : certificates(caFile)) {
                trust.setCertificateEntry("ca-" + i++, c);
            }
            tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
        }
        KeyManagerFactory kmf = null;
        if (!certFile.isEmpty() || !keyFile.isEmpty()) {
            if (certFile.isEmpty() || keyFile.isEmpty()) {
                throw new GeneralSecurityException("a client certificate file and its key file go together");
            }
            KeyStore keys = KeyStore.getInstance(KeyStore.getDefaultType());
            keys.load(null, null);
            char[] none = new char[0];
            keys.setKeyEntry("client", privateKey(keyFile), none,
                    certificates(certFile).toArray(new Certificate[0]));
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, none);
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
        return ctx;
    }

    private static List<Certificate> certificates(String file) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(Path.of(file))) {
            List<Certificate> certs = List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(in));
            if (certs.isEmpty()) {
                throw new GeneralSecurityException(file + " holds no PEM certificate");
            }
            return certs;
        }
    }

    private static PrivateKey privateKey(String file) throws IOException, GeneralSecurityException {
        String pem = Files.readString(Path.of(file));
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < 0) {
            throw new GeneralSecurityException(file + " is not a PEM PKCS#8 key (BEGIN PRIVATE KEY); convert it "
                    + "with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(begin + 27, end));
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new GeneralSecurityException(file + ": an RSA, EC or Ed25519 key was expected");
    }
}
