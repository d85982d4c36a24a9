package dev.bramble.daemon;

import dev.bramble.deployer.Deployer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A real bramble-deployer for the daemon's fleet tests, and the agent section of a daemon that follows it. */
final class TestDeployers {
    private TestDeployers() {
    }

    /**
     * Starts a deployer on a free port with its state in {@code dir/deployer} and the given admin token.
     *
     * @param moreYaml further top-level configuration (e.g. a {@code tls:} section), or empty
     */
    static Deployer start(Path dir, String adminToken, String moreYaml) {
        Path config = dir.resolve("deployer.yaml");
        try {
            Files.writeString(config, """
                    data-dir: %s
                    http:
                      port: 0
                    admin:
                      token: %s
                    """.formatted(dir.resolve("deployer"), adminToken) + moreYaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Deployer.start(config);
    }

    /**
     * The {@code agent:} section of a daemon that enrols at {@code url} as {@code name}, trusts the signers in
     * {@code trustedKeys} and polls every 2 s.
     *
     * @param moreAgentLines further agent keys, one per line, without indentation (e.g. {@code ca-file: …}), or
     *                       empty
     */
    static String agentYaml(String url, String enrolmentToken, String name, Path trustedKeys, String moreAgentLines) {
        StringBuilder yaml = new StringBuilder("""
                agent:
                  deployer-url: %s
                  enrolment-token: %s
                  device-name: %s
                  trusted-keys: %s
                  poll-wait-seconds: 2
                """.formatted(url, enrolmentToken, name, trustedKeys));
        moreAgentLines.lines().filter(l -> !l.isBlank()).forEach(l -> yaml.append("  ").append(l).append('\n'));
        return yaml.toString();
    }
}
