package dev.bramble.daemon.profile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The device profiles shipped in {@code device-profiles/} (on the daemon's classpath), and the choice among them.
 * They are tried in {@code order.txt}'s order: a profile matches when the board's model contains its
 * {@code match.model} and the memory lies in its {@code match.memory-mb} range. No match is never a failure: the
 * generic profile of the architecture, scaled to the memory found, is chosen.
 */
public final class DeviceProfiles {
    private static final String DIR = "device-profiles/";
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** A profile, the facts it was chosen by, and why, in words. */
    public record Choice(DeviceProfile profile, DeviceFacts facts, String reason) {
    }

    private DeviceProfiles() {
    }

    /** Profile ids in the order they are tried. */
    public static List<String> ids() {
        return text("order.txt").lines().map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }

    /**
     * Chooses the profile for {@code facts}, or the one named by {@code forced} (config {@code profile}).
     *
     * @throws IllegalArgumentException when {@code forced} names no profile
     */
    public static Choice choose(DeviceFacts facts, Optional<String> forced) {
        if (forced.isPresent()) {
            if (!ids().contains(forced.get())) {
                throw new IllegalArgumentException("profile: '" + forced.get() + "' is not a profile; known: auto, "
                        + ids());
            }
            return new Choice(build(forced.get(), tree(forced.get()), facts), facts,
                    "set by the configuration (profile: " + forced.get() + ")");
        }
        for (String id : ids()) {
            JsonNode profile = tree(id);
            JsonNode match = profile.path("match");
            String model = match.path("model").asText(null);
            if (model != null) {
                if (facts.model().isEmpty() || !facts.model().get().contains(model)) {
                    continue;
                }
                JsonNode mem = match.path("memory-mb");
                long min = mem.path("min").asLong(0);
                long max = mem.path("max").asLong(Long.MAX_VALUE);
                if (facts.memoryMb() < min || facts.memoryMb() > max) {
                    continue;
                }
                return new Choice(build(id, profile, facts), facts, "the model '" + facts.model().get() + "' contains '"
                        + model + "' and " + facts.memoryMb() + " MB is within " + min + ".."
                        + (max == Long.MAX_VALUE ? "" : max) + " MB");
            }
            String arch = match.path("arch").asText(null);
            if (arch != null && arch.equals(facts.arch())) {
                return new Choice(build(id, profile, facts), facts, "no board profile matches "
                        + facts.model().map(m -> "'" + m + "'").orElse("a machine without a device-tree model")
                        + "; the generic " + arch + " profile, scaled to " + facts.memoryMb() + " MB");
            }
        }
        String fallback = ids().getLast();
        return new Choice(build(fallback, tree(fallback), facts), facts, "nothing matches arch " + facts.arch()
                + "; the last profile, " + fallback + ", scaled to " + facts.memoryMb() + " MB");
    }

    private static DeviceProfile build(String id, JsonNode t, DeviceFacts facts) {
        JsonNode d = t.path("daemon");
        JsonNode f = t.path("functions");
        JsonNode disk = t.path("disk");
        long reference = t.path("scale-from-mb").asLong(0);
        // Generic profiles give their values for `scale-from-mb` and grow (or shrink) with the memory found.
        double scale = reference > 0 ? Math.max(0.25, (double) facts.memoryMb() / reference) : 1;
        int heap = d.path("heap-mb").asInt(64);
        if (reference > 0) {
            heap = (int) Math.min(128, Math.max(32, Math.round(heap * Math.sqrt(scale))));
        }
        long budget = f.path("memory-budget-mb").asLong(0);
        if (budget <= 0) {
            budget = Math.max(64, facts.memoryMb() * 60 / 100);
        }
        return new DeviceProfile(id, t.path("name").asText(id), heap, strings(d.path("jvm-options")), budget,
                f.path("default-memory-mb").asInt(128), f.path("default-tmp-mb").asInt(32),
                Math.max(1, (int) Math.round(f.path("max-environments").asInt(4) * scale)),
                f.path("idle-ttl-seconds").asInt(600), strings(f.path("jvm-options")),
                (int) Math.round(disk.path("logs-mb").asInt(64) * scale),
                (int) Math.round(disk.path("outbox-mb").asInt(64) * scale));
    }

    private static List<String> strings(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.forEach(e -> out.add(e.asText()));
        return out;
    }

    private static JsonNode tree(String id) {
        try {
            return YAML.readTree(text(id + ".yaml"));
        } catch (IOException e) {
            throw new UncheckedIOException("device-profiles/" + id + ".yaml is not valid YAML", e);
        }
    }

    private static String text(String name) {
        try (InputStream in = DeviceProfiles.class.getClassLoader().getResourceAsStream(DIR + name)) {
            if (in == null) {
                throw new IllegalStateException(DIR + name + " is missing from the daemon's classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The profile as {@code --print-profile} shows it. */
    public static String print(Choice c) {
        DeviceProfile p = c.profile();
        return "profile: " + p.id() + " (" + p.name() + ")\n"
                + "why: " + c.reason() + "\n"
                + "facts: " + c.facts().describe() + "\n"
                + "daemon: heap " + p.daemonHeapMb() + " MB" + (p.daemonJvmOptions().isEmpty() ? ""
                : ", flags " + p.daemonJvmOptions()) + "\n"
                + "functions: budget " + p.memoryBudgetMb() + " MB, default memory " + p.defaultMemoryMb()
                + " MB, default /tmp " + p.defaultTmpMb() + " MB, at most " + p.maxEnvironments()
                + " environments, idle TTL " + p.idleTtlSeconds() + " s"
                + (p.childJvmOptions().isEmpty() ? "" : ", child flags " + p.childJvmOptions()) + "\n"
                + "disk: logs " + p.logsMb() + " MB, outbox " + p.outboxMb() + " MB\n";
    }
}
