package dev.bramble.daemon.env;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The CPU quota an environment gets: what it asks for, never the whole device. */
class LauncherCpuTest {
    @Test
    void aFunctionNeverGetsEveryCoreOfTheDevice() {
        assertThat(Launcher.cpuMillis(2.0, 2)).isEqualTo(1_500);
        assertThat(Launcher.cpuMillis(64, 2)).isEqualTo(1_500);
        assertThat(Launcher.cpuMillis(4.0, 4)).isEqualTo(3_500);
        assertThat(Launcher.cpuMillis(1.0, 1)).isEqualTo(750);
    }

    @Test
    void belowTheCapAFunctionGetsWhatItAsksForAndAtLeastTheMinimum() {
        assertThat(Launcher.cpuMillis(0.25, 2)).isEqualTo(250);
        assertThat(Launcher.cpuMillis(1.0, 2)).isEqualTo(1_000);
        assertThat(Launcher.cpuMillis(0.001, 2)).isEqualTo(Launcher.MIN_CPU_MILLIS);
    }
}
