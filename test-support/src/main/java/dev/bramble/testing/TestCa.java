package dev.bramble.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private certificate authority made with Debian's {@code openssl}, as an operator makes one: a CA, and a server
 * certificate it signed for {@code localhost} and {@code 127.0.0.1}, in PEM (the key PKCS#8).
 *
 * @param caCert     the CA's certificate, what clients trust
 * @param serverCert the server's certificate
 * @param serverKey  the server's key
 */
public record TestCa(Path caCert, Path serverCert, Path serverKey) {

    /** Makes a CA and a server certificate in {@code dir} (which it creates). */
    public static TestCa create(Path dir, String name) {
        try {
            Files.createDirectories(dir);
            Path caKey = dir.resolve(name + "-ca.key");
            Path caCert = dir.resolve(name + "-ca.pem");
            Path key = dir.resolve(name + "-server.key");
            Path csr = dir.resolve(name + "-server.csr");
            Path cert = dir.resolve(name + "-server.pem");
            Path ext = dir.resolve(name + "-server.ext");
            Files.writeString(ext, "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
                    + "extendedKeyUsage = serverAuth\n");
            openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", caKey.toString(), "-out", caCert.toString(), "-days", "2", "-subj",
                    "/CN=" + name + " test CA");
            openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    key.toString(), "-out", csr.toString(), "-subj", "/CN=localhost");
            openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
                    "-CAcreateserial", "-out", cert.toString(), "-days", "2", "-extfile", ext.toString());
            return new TestCa(caCert, cert, key);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void openssl(Path dir, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException("openssl is needed to make test certificates (apt-get install openssl;"
                    + " scripts/test installs it)", e);
        }
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
