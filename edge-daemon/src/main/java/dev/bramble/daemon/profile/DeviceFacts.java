package dev.bramble.daemon.profile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * What a profile is chosen by, read from a file-system root ({@code /} on a device; a fake tree in tests).
 *
 * @param model         {@code /proc/device-tree/model}, when the board has a device tree
 * @param memoryMb      {@code MemTotal} of {@code /proc/meminfo}
 * @param cores         processors in {@code /proc/cpuinfo}
 * @param cgroupVersion 2 when {@code /sys/fs/cgroup/cgroup.controllers} exists, else 1
 * @param jdk           the JDK's feature version
 * @param arch          {@code aarch64} or {@code amd64}, as {@code os.arch} says
 */
public record DeviceFacts(Optional<String> model, long memoryMb, int cores, int cgroupVersion, int jdk,
                          String arch) {

    /** The facts of the machine this runs on. */
    public static DeviceFacts detect() {
        return detect(Path.of("/"), Runtime.version().feature(), System.getProperty("os.arch"));
    }

    /** The facts found under {@code root}, for a JDK and architecture given. */
    public static DeviceFacts detect(Path root, int jdk, String arch) {
        Optional<String> model = read(root.resolve("proc/device-tree/model"))
                .map(s -> s.replace("\0", "").trim()).filter(s -> !s.isEmpty());
        long memoryMb = read(root.resolve("proc/meminfo")).flatMap(DeviceFacts::memTotalMb)
                .orElse(Runtime.getRuntime().maxMemory() >> 20);
        int cores = read(root.resolve("proc/cpuinfo"))
                .map(s -> (int) s.lines().filter(l -> l.startsWith("processor")).count())
                .filter(n -> n > 0).orElse(Runtime.getRuntime().availableProcessors());
        int cgroup = Files.exists(root.resolve("sys/fs/cgroup/cgroup.controllers")) ? 2 : 1;
        String a = arch.toLowerCase(Locale.ROOT);
        return new DeviceFacts(model, memoryMb, cores, cgroup, jdk,
                a.equals("arm64") ? "aarch64" : a.equals("x86_64") ? "amd64" : a);
    }

    private static Optional<Long> memTotalMb(String meminfo) {
        return meminfo.lines().filter(l -> l.startsWith("MemTotal:")).findFirst()
                .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024);
    }

    private static Optional<String> read(Path p) {
        try {
            return Files.isReadable(p) ? Optional.of(Files.readString(p, StandardCharsets.ISO_8859_1))
                    : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** One line, for logs and {@code --print-profile}. */
    public String describe() {
        return "model=" + model.map(m -> "'" + m + "'").orElse("(no device tree)") + " memory=" + memoryMb
                + "MB cores=" + cores + " cgroup=v" + cgroupVersion + " jdk=" + jdk + " arch=" + arch;
    }
}
