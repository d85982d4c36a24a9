package dev.bramble.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.bramble.daemon.profile.DeviceFacts;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The device profile supplies defaults; the configuration overrides any of them, key by key. */
class ProfileConfigTest {
    private static final DeviceFacts PI_ZERO = new DeviceFacts(Optional.of("Raspberry Pi Zero 2 W Rev 1.0"), 428, 4,
            2, 21, "aarch64");

    private static DaemonConfig parse(String yaml) throws IOException {
        return DaemonConfig.parse(new ObjectMapper(new YAMLFactory()).readTree(yaml.isBlank() ? "{}" : yaml), "test",
                PI_ZERO);
    }

    @Test
    void theProfileGivesTheDefaults() throws IOException {
        DaemonConfig c = parse("");
        assertThat(c.device().profile().id()).isEqualTo("pi-zero-2w");
        assertThat(c.memoryBudgetMb()).isEqualTo(192);
        assertThat(c.maxEnvironments()).isEqualTo(2);
        assertThat(c.idleTtlSeconds()).isEqualTo(120);
        assertThat(c.defaultMemoryMb()).isEqualTo(64);
        assertThat(c.defaultTmpMb()).isEqualTo(8);
        assertThat(c.daemonHeapMb()).isEqualTo(32);
        assertThat(c.jvmOptions()).contains("-XX:ReservedCodeCacheSize=8m");
        assertThat(Main.profile(c)).contains("profile: pi-zero-2w").contains("pool.max-environments 2");
    }

    @Test
    void theConfigurationOverridesAnyField() throws IOException {
        DaemonConfig c = parse("""
                pool:
                  memory-budget-mb: 300
                  max-environments: 3
                  idle-ttl-seconds: 60
                functions:
                  default-memory-mb: 48
                  default-tmp-mb: 4
                daemon:
                  heap-mb: 40
                runtime:
                  jvm-options: ["-XX:+UseSerialGC"]
                """);
        assertThat(c.memoryBudgetMb()).isEqualTo(300);
        assertThat(c.maxEnvironments()).isEqualTo(3);
        assertThat(c.idleTtlSeconds()).isEqualTo(60);
        assertThat(c.defaultMemoryMb()).isEqualTo(48);
        assertThat(c.defaultTmpMb()).isEqualTo(4);
        assertThat(c.daemonHeapMb()).isEqualTo(40);
        assertThat(c.jvmOptions()).containsExactly("-XX:+UseSerialGC");
    }

    @Test
    void aProfileCanBeForcedAndAWrongNameIsAConfigurationProblem() throws IOException {
        assertThat(parse("profile: pi-5-16gb").memoryBudgetMb()).isEqualTo(11_000);
        assertThatThrownBy(() -> parse("profile: pi-9"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("profile: 'pi-9' is not a profile");
    }
}
