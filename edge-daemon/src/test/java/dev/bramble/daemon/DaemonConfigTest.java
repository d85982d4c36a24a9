package dev.bramble.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DaemonConfigTest {
    @TempDir
    Path dir;

    private DaemonConfig load(String yaml) throws IOException {
        Path f = dir.resolve("bramble.yaml");
        Files.writeString(f, yaml);
        return DaemonConfig.load(f);
    }

    @Test
    void embeddedDefaultsAreValid() {
        DaemonConfig c = DaemonConfig.defaults();
        assertThat(c.httpBind()).isEqualTo("127.0.0.1");
        assertThat(c.httpPort()).isEqualTo(9000);
        assertThat(c.dataDir()).isAbsolute();
        assertThat(c.jvmOptions()).isEqualTo(dev.bramble.daemon.env.Launcher.DEFAULT_JVM_OPTIONS);
    }

    @Test
    void valuesAreRead() throws IOException {
        DaemonConfig c = load("""
                data-dir: /var/lib/bramble
                http: {bind: 0.0.0.0, port: 8080}
                pool: {max-environments-per-function: 2, idle-ttl-seconds: 30}
                admin: {token: "0123456789abcdef"}
                """);
        assertThat(c.dataDir()).isEqualTo(Path.of("/var/lib/bramble"));
        assertThat(c.httpPort()).isEqualTo(8080);
        assertThat(c.maxEnvironmentsPerFunction()).isEqualTo(2);
        assertThat(c.idleTtlSeconds()).isEqualTo(30);
        assertThat(c.adminToken()).isEqualTo("0123456789abcdef");
    }

    @Test
    void aDataDirThatIsAFileAndAJavaThatCannotRunFunctionsAreNamed(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws IOException {
        Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");
        Path oldJdk = Files.createDirectories(tmp.resolve("jdk17/bin"));
        Path java = Files.writeString(oldJdk.resolve("java"), "#!/bin/sh\n");
        java.toFile().setExecutable(true);
        Files.writeString(tmp.resolve("jdk17/release"), "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"17.0.9\"\n");
        assertThatThrownBy(() -> load("data-dir: " + file + "\nruntime:\n  java: " + java + "\n"))
                .hasMessageContaining("data-dir: '" + file + "' is not a directory")
                .hasMessageContaining("runtime.java: '" + java + "' is JDK 17; functions need JDK 21 or later");
        assertThatThrownBy(() -> load("runtime:\n  java: " + tmp.resolve("nope") + "\n"))
                .hasMessageContaining("runtime.java: '" + tmp.resolve("nope") + "' is not an executable file");
    }

    @Test
    void aKeyGivenTwiceIsNamedNotResolvedInSilence() {
        assertThatThrownBy(() -> load("""
                http:
                  port: 9000
                  port: 9001
                """)).hasMessageContaining("cannot read it as YAML").hasMessageContaining("Duplicate field 'port'");
    }

    @Test
    void everyProblemIsListedWithKeyValueAndWhatIsAllowed() {
        assertThatThrownBy(() -> load("""
                http: {port: 70000, bind: "no such host .invalid"}
                pool: {max-environments-per-function: zero}
                logs: {retain-lines-per-function: 5}
                aws: {account-id: "12"}
                admin: {token: short}
                htp: {port: 1}
                """)).isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
                "http.bind: 'no such host .invalid' is not an address or a host name that resolves",
                "http.port: 70000 is outside the allowed range 0..65535",
                "pool.max-environments-per-function: expected a whole number from 1 to 1000, got \"zero\"",
                "logs.retain-lines-per-function: 5 is outside the allowed range 100..10000000",
                "aws.account-id: '12' is not allowed; expected 12 digits",
                "admin.token: 5 characters is too short to be a secret; use at least 16, or leave it empty",
                "htp.port: unknown key; known keys: " + DaemonConfig.OPTIONS.stream().map(dev.bramble.daemon.config.Option::key)
                        .toList()));
    }

    @Test
    void plainHttpToADeployerOffThisHostIsRefusedUnlessTheOperatorSaysSo() throws IOException {
        assertThatThrownBy(() -> load("""
                agent: {deployer-url: "http://deployer.internal:8700", ca-file: /nonexistent/ca.pem}
                """)).isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
                "agent.ca-file: '/nonexistent/ca.pem' is not a readable file",
                "agent.deployer-url: 'http://deployer.internal:8700' is plain HTTP to a host that is not this one: "
                        + "the device token and bundles would travel in clear; use https:// (with agent.ca-file for "
                        + "a private CA), or set agent.insecure-http: true to accept that"));
        assertThat(load("agent: {deployer-url: \"http://10.0.0.5:8700\", insecure-http: true}\n").agent()
                .insecureHttp()).isTrue();
        for (String local : new String[]{"http://127.0.0.1:8700", "http://localhost:8700", "http://[::1]:8700",
                "https://deployer.internal:8700"}) {
            assertThat(load("agent: {deployer-url: \"" + local + "\"}\n").agent().deployerUrl()).isEqualTo(local);
        }
    }

    @Test
    void helpListsEveryOption() {
        String help = DaemonConfig.help();
        DaemonConfig.OPTIONS.forEach(o -> assertThat(help).contains(o.key()));
    }
}
