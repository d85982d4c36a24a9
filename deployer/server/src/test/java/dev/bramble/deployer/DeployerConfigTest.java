package dev.bramble.deployer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DeployerConfigTest {
    @TempDir
    Path dir;

    @Test
    void everyProblemIsListedAtOnceWithTheKeyAndWhatIsAllowed() throws Exception {
        Path f = Files.writeString(dir.resolve("deployer.yaml"), """
                admin:
                  token: admin-token-0123456789abcdef
                metrics:
                  token: short
                http:
                  port: 70000
                tls:
                  cert-file: /nowhere.pem
                colour: blue
                """);
        assertThatThrownBy(() -> DeployerConfig.load(f)).hasMessageContaining(f.toString())
                .hasMessageContaining("metrics.token: 5 characters is too short")
                .hasMessageContaining("http.port")
                .hasMessageContaining("tls.cert-file and tls.key-file go together")
                .hasMessageContaining("colour");
    }

    @Test
    void prometheusGetsATokenOfItsOwn() throws Exception {
        Path same = Files.writeString(dir.resolve("same.yaml"), """
                admin:
                  token: admin-token-0123456789abcdef
                metrics:
                  token: admin-token-0123456789abcdef
                """);
        assertThatThrownBy(() -> DeployerConfig.load(same))
                .hasMessageContaining("metrics.token: the same as admin.token");
        Path own = Files.writeString(dir.resolve("own.yaml"), """
                metrics:
                  token: prometheus-0123456789abcdef
                """);
        assertThat(DeployerConfig.load(own).metricsToken()).isEqualTo("prometheus-0123456789abcdef");
    }
}
