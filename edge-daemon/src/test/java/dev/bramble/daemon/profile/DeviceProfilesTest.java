package dev.bramble.daemon.profile;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Profile detection on fake /proc trees, one per board, as the kernel on each shows it. */
class DeviceProfilesTest {
    @TempDir
    Path root;

    /** A /proc (and /sys) as a board shows it; {@code model} null for a machine without a device tree. */
    static Path fakeRoot(Path root, String model, long memTotalKb, int cores, boolean cgroupV2) throws IOException {
        Files.createDirectories(root.resolve("proc/device-tree"));
        if (model != null) {
            // The kernel ends the string with a NUL.
            Files.writeString(root.resolve("proc/device-tree/model"), model + "\0");
        }
        Files.writeString(root.resolve("proc/meminfo"), "MemTotal:       " + memTotalKb + " kB\n"
                + "MemFree:          123456 kB\n");
        StringBuilder cpu = new StringBuilder();
        for (int i = 0; i < cores; i++) {
            cpu.append("processor\t: ").append(i).append("\nBogoMIPS\t: 108.00\n\n");
        }
        Files.writeString(root.resolve("proc/cpuinfo"), cpu.toString());
        Files.createDirectories(root.resolve("sys/fs/cgroup"));
        if (cgroupV2) {
            Files.writeString(root.resolve("sys/fs/cgroup/cgroup.controllers"), "cpu memory pids\n");
        }
        return root;
    }

    @ParameterizedTest(name = "{0}, {1} kB → {2}")
    @CsvSource({
            "Raspberry Pi Zero 2 W Rev 1.0,            439000,   pi-zero-2w,   4",
            "Raspberry Pi 3 Model B Rev 1.2,           944000,   pi-3b,        4",
            "Raspberry Pi 3 Model B Plus Rev 1.3,      944000,   pi-3b,        4",
            "Raspberry Pi 4 Model B Rev 1.1,           948000,   pi-4-1gb,     4",
            "Raspberry Pi 4 Model B Rev 1.2,          1893000,   pi-4-2gb,     4",
            "Raspberry Pi 4 Model B Rev 1.4,          3884000,   pi-4-4gb,     4",
            "Raspberry Pi 4 Model B Rev 1.4,          7999000,   pi-4-8gb,     4",
            "Raspberry Pi 5 Model B Rev 1.0,          2040000,   pi-5-2gb,     4",
            "Raspberry Pi 5 Model B Rev 1.0,          4045000,   pi-5-4gb,     4",
            "Raspberry Pi 5 Model B Rev 1.0,          8245000,   pi-5-8gb,     4",
            "Raspberry Pi 5 Model B Rev 1.1,         16500000,   pi-5-16gb,    4",
            "Raspberry Pi Compute Module 4 Rev 1.0,   3884000,   cm4,          4",
            "NVIDIA Jetson Orin Nano Developer Kit,   7620000,   jetson-orin-nano, 6",
            "Pine64 RockPro64,                         3900000,   generic-arm64, 6",
    })
    void eachBoardGetsItsProfile(String model, long memKb, String expected, int cores) throws IOException {
        DeviceFacts facts = DeviceFacts.detect(fakeRoot(root, model, memKb, cores, true), 21, "aarch64");
        assertThat(facts.model()).contains(model);
        assertThat(facts.memoryMb()).isEqualTo(memKb / 1024);
        assertThat(facts.cores()).isEqualTo(cores);
        assertThat(facts.cgroupVersion()).isEqualTo(2);
        DeviceProfiles.Choice c = DeviceProfiles.choose(facts, Optional.empty());
        assertThat(c.profile().id()).isEqualTo(expected);
        assertThat(c.profile().memoryBudgetMb()).isPositive().isLessThan(memKb / 1024);
        assertThat(c.reason()).contains(model);
    }

    @Test
    void aPiZeroIsSmallEverywhere() throws IOException {
        DeviceProfile p = DeviceProfiles.choose(DeviceFacts.detect(fakeRoot(root, "Raspberry Pi Zero 2 W Rev 1.0",
                439_000, 4, true), 21, "aarch64"), Optional.empty()).profile();
        assertThat(p.daemonHeapMb()).isEqualTo(32);
        assertThat(p.memoryBudgetMb()).isEqualTo(192);
        assertThat(p.defaultMemoryMb()).isEqualTo(64);
        assertThat(p.maxEnvironments()).isEqualTo(2);
        assertThat(p.childJvmOptions()).contains("-XX:ReservedCodeCacheSize=8m");
    }

    @Test
    void anUnknownMachineGetsTheGenericProfileScaledToItsMemoryNeverAFailure() throws IOException {
        DeviceFacts small = DeviceFacts.detect(fakeRoot(root.resolve("a"), null, 2 * 1024 * 1024, 2, false), 21,
                "amd64");
        DeviceFacts big = DeviceFacts.detect(fakeRoot(root.resolve("b"), null, 32L * 1024 * 1024, 16, false), 25,
                "x86_64");
        assertThat(small.model()).isEmpty();
        assertThat(small.cgroupVersion()).isEqualTo(1);
        DeviceProfiles.Choice s = DeviceProfiles.choose(small, Optional.empty());
        DeviceProfiles.Choice b = DeviceProfiles.choose(big, Optional.empty());
        assertThat(s.profile().id()).isEqualTo("generic-x86_64");
        assertThat(b.profile().id()).isEqualTo("generic-x86_64");
        assertThat(s.reason()).contains("scaled to 2048 MB");
        assertThat(s.profile().memoryBudgetMb()).isEqualTo(2048 * 60 / 100);
        assertThat(b.profile().maxEnvironments()).isGreaterThan(s.profile().maxEnvironments());
        assertThat(b.profile().logsMb()).isGreaterThan(s.profile().logsMb());
        assertThat(b.profile().daemonHeapMb()).isBetween(s.profile().daemonHeapMb(), 128);
        // An architecture no profile names still gets one.
        DeviceFacts riscv = new DeviceFacts(Optional.of("StarFive VisionFive 2"), 4096, 4, 2, 21, "riscv64");
        assertThat(DeviceProfiles.choose(riscv, Optional.empty()).reason()).contains("nothing matches arch riscv64");
    }

    @Test
    void aForcedProfileWinsAndAnUnknownOneIsNamed() throws IOException {
        DeviceFacts facts = DeviceFacts.detect(fakeRoot(root, "Raspberry Pi 4 Model B Rev 1.4", 3_884_000, 4, true),
                21, "aarch64");
        DeviceProfiles.Choice c = DeviceProfiles.choose(facts, Optional.of("pi-zero-2w"));
        assertThat(c.profile().id()).isEqualTo("pi-zero-2w");
        assertThat(c.reason()).contains("set by the configuration");
        assertThatThrownBy(() -> DeviceProfiles.choose(facts, Optional.of("pi-6")))
                .hasMessageContaining("'pi-6' is not a profile").hasMessageContaining("pi-zero-2w");
        assertThat(DeviceProfiles.print(c)).contains("profile: pi-zero-2w").contains("why: set by the configuration")
                .contains("facts: model='Raspberry Pi 4 Model B Rev 1.4' memory=3792MB cores=4 cgroup=v2 jdk=21");
    }
}
