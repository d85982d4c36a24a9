package dev.bramble.sandbox;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The daemon's subtree of cgroups, on cgroup v1 or v2. Both versions share every step; they differ only in
 * where a knob lives ({@link #KNOBS}) and in how the subtree is found and delegated:
 * <ul>
 *   <li>v1: one directory per controller, {@code ROOT/{memory,cpu,pids}/NAME/ENV};</li>
 *   <li>v2: the daemon's own cgroup from {@code /proc/self/cgroup} (delegated by systemd with {@code Delegate=yes}).
 *   To keep the no-internal-process rule the daemon moves itself into {@code OWN/daemon}, enables the controllers,
 *   and creates environments in {@code OWN/envs/ENV}.</li>
 * </ul>
 */
final class CgroupTree {
    private static final System.Logger LOG = System.getLogger(CgroupTree.class.getName());
    static final long CPU_PERIOD_US = 100_000;
    static final List<String> CONTROLLERS = List.of("memory", "cpu", "pids");
    /** v1's freezer: a controller of its own, used where mounted. */
    static final String FREEZER = "freezer";

    /** cgroup v1 or v2. */
    enum Version { V1, V2 }

    /** Every knob the sandbox reads or writes. */
    enum Knob {
        PROCS, MEMORY_LIMIT, SWAP_LIMIT, CPU_PERIOD, CPU_QUOTA, CPU_MAX, PIDS_MAX,
        MEMORY_CURRENT, MEMORY_PEAK, OOM_EVENTS, LIMIT_HITS, CPU_STAT, PIDS_CURRENT, KILL, FREEZE
    }

    /** Where a knob lives: a controller (v1 only; v2 has one directory) and a file. */
    record Place(String controller, String file) {
    }

    /** The two layouts, side by side; a knob a version lacks is absent. */
    static final Map<Knob, Map<Version, Place>> KNOBS = Map.ofEntries(
            Map.entry(Knob.PROCS, Map.of(Version.V1, new Place("memory", "cgroup.procs"),
                    Version.V2, new Place("", "cgroup.procs"))),
            Map.entry(Knob.MEMORY_LIMIT, Map.of(Version.V1, new Place("memory", "memory.limit_in_bytes"),
                    Version.V2, new Place("", "memory.max"))),
            Map.entry(Knob.SWAP_LIMIT, Map.of(Version.V1, new Place("memory", "memory.memsw.limit_in_bytes"),
                    Version.V2, new Place("", "memory.swap.max"))),
            Map.entry(Knob.CPU_PERIOD, Map.of(Version.V1, new Place("cpu", "cpu.cfs_period_us"))),
            Map.entry(Knob.CPU_QUOTA, Map.of(Version.V1, new Place("cpu", "cpu.cfs_quota_us"))),
            Map.entry(Knob.CPU_MAX, Map.of(Version.V2, new Place("", "cpu.max"))),
            Map.entry(Knob.PIDS_MAX, Map.of(Version.V1, new Place("pids", "pids.max"),
                    Version.V2, new Place("", "pids.max"))),
            Map.entry(Knob.MEMORY_CURRENT, Map.of(Version.V1, new Place("memory", "memory.usage_in_bytes"),
                    Version.V2, new Place("", "memory.current"))),
            Map.entry(Knob.MEMORY_PEAK, Map.of(Version.V1, new Place("memory", "memory.max_usage_in_bytes"),
                    Version.V2, new Place("", "memory.peak"))),
            Map.entry(Knob.OOM_EVENTS, Map.of(Version.V1, new Place("memory", "memory.oom_control"),
                    Version.V2, new Place("", "memory.events"))),
            Map.entry(Knob.LIMIT_HITS, Map.of(Version.V1, new Place("memory", "memory.failcnt"),
                    Version.V2, new Place("", "memory.events"))),
            Map.entry(Knob.CPU_STAT, Map.of(Version.V1, new Place("cpu", "cpu.stat"),
                    Version.V2, new Place("", "cpu.stat"))),
            Map.entry(Knob.PIDS_CURRENT, Map.of(Version.V1, new Place("pids", "pids.current"),
                    Version.V2, new Place("", "pids.current"))),
            Map.entry(Knob.KILL, Map.of(Version.V2, new Place("", "cgroup.kill"))),
            Map.entry(Knob.FREEZE, Map.of(Version.V1, new Place(FREEZER, "freezer.state"),
                    Version.V2, new Place("", "cgroup.freeze"))));
    /** What {@link Knob#FREEZE} is written to freeze and to thaw, by version. */
    static final Map<Version, List<String>> FREEZE_VALUES = Map.of(Version.V1, List.of("FROZEN", "THAWED"),
            Version.V2, List.of("1", "0"));

    /**
     * One write of a limit.
     *
     * @param knob  what
     * @param value the text written
     */
    record Write(Knob knob, String value) {
    }

    private final Version version;
    private final Path root;
    private final Path base;
    /** v1: the controllers environments get a directory in, the freezer among them where it is mounted. */
    private final List<String> controllers;

    /**
     * @param version the cgroup version
     * @param root    the cgroupfs mount, {@code /sys/fs/cgroup}
     * @param base    v1: the subtree name under each controller; v2: the daemon's delegated cgroup, absolute
     */
    CgroupTree(Version version, Path root, Path base) {
        this.version = version;
        this.root = root;
        this.base = base;
        List<String> c = new ArrayList<>(CONTROLLERS);
        if (version == Version.V1 && Files.isDirectory(root.resolve(FREEZER))) {
            c.add(FREEZER);
        }
        this.controllers = List.copyOf(c);
    }

    /**
     * v1's freezer directory of the subtree, where environments are frozen: a frozen v1 task takes no signal, not
     * even SIGKILL, until thawed, so someone must thaw them when the daemon dies ({@link LinuxSandbox}'s
     * watchdog). Empty on v2, whose frozen tasks die of SIGKILL.
     */
    Optional<Path> v1FreezerSubtree() {
        return version == Version.V1 && controllers.contains(FREEZER)
                ? Optional.of(root.resolve(FREEZER).resolve(base)) : Optional.empty();
    }

    /** Whether environments can be frozen: v2 always (cgroup.freeze), v1 where the freezer is mounted. */
    boolean freezer() {
        return version == Version.V2 || controllers.contains(FREEZER);
    }

    /**
     * Finds the cgroup version mounted at {@code root} and the daemon's subtree.
     *
     * @param name      v1: the subtree's name under each controller
     * @param selfCgroup the contents of {@code /proc/self/cgroup}
     */
    static Optional<CgroupTree> detect(Path root, String name, String selfCgroup) {
        if (Files.exists(root.resolve("cgroup.controllers"))) {
            for (String line : selfCgroup.split("\n")) {
                if (line.startsWith("0::")) {
                    String own = line.substring(3).strip();
                    return Optional.of(new CgroupTree(Version.V2, root, root.resolve(own.replaceFirst("^/", ""))));
                }
            }
            return Optional.empty();
        }
        if (CONTROLLERS.stream().allMatch(c -> Files.isDirectory(root.resolve(c)))) {
            return Optional.of(new CgroupTree(Version.V1, root, Path.of(name)));
        }
        return Optional.empty();
    }

    Version version() {
        return version;
    }

    /** Names the daemon's subtree on this host: v1, its name under each controller; v2, its cgroup's path. */
    String subtree() {
        return (version == Version.V1 ? "v1-" : "v2-") + base;
    }

    /**
     * Prepares the subtree: creates it, and on v2 moves the daemon ({@code selfPid}) into a leaf and enables the
     * controllers for the environments. Then removes environments a previous run left, killing what ran in them.
     */
    void prepare(long selfPid) throws IOException {
        if (version == Version.V1) {
            for (String c : controllers) {
                Files.createDirectories(root.resolve(c).resolve(base));
            }
        } else {
            Path daemon = base.resolve("daemon");
            Files.createDirectories(daemon);
            Files.writeString(daemon.resolve("cgroup.procs"), Long.toString(selfPid));
            Files.writeString(base.resolve("cgroup.subtree_control"), "+memory +cpu +pids");
            Files.createDirectories(base.resolve("envs"));
            Files.writeString(base.resolve("envs").resolve("cgroup.subtree_control"), "+memory +cpu +pids");
        }
        clear();
        // Prove that limits can be written here, rather than finding out at the first cold start.
        create("probe-" + selfPid, new Limits(64, 1000, 64, 1)).remove();
    }

    /** Kills what runs in the subtree's environment cgroups and removes them. */
    void clear() throws IOException {
        for (String leftover : environments()) {
            Cgroup stale = new Cgroup(leftover);
            int killed = stale.killAll();
            stale.remove();
            LOG.log(Level.WARNING, "sandbox.cleanup cgroup={0} killed={1}", leftover, killed);
        }
    }

    /**
     * Clears the subtree and removes it (v1: one directory per controller); v2's delegated cgroup stays, it is
     * systemd's.
     */
    void removeIfEmpty() {
        try {
            clear();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "sandbox.cleanup-failed error={0}", e.toString());
        }
        if (version == Version.V2) {
            return;
        }
        for (String c : controllers) {
            try {
                Files.deleteIfExists(root.resolve(c).resolve(base));
            } catch (IOException e) {
                // Not empty, or not ours to remove: the next start cleans up.
            }
        }
    }

    /** The environment cgroups that exist now. */
    List<String> environments() throws IOException {
        Set<String> names = new LinkedHashSet<>();
        List<Path> parents = version == Version.V1
                ? controllers.stream().map(c -> root.resolve(c).resolve(base)).toList()
                : List.of(base.resolve("envs"));
        for (Path parent : parents) {
            if (!Files.isDirectory(parent)) {
                continue;
            }
            try (Stream<Path> children = Files.list(parent)) {
                children.filter(Files::isDirectory).forEach(p -> names.add(p.getFileName().toString()));
            }
        }
        return List.copyOf(names);
    }

    /** The writes that apply {@code limits}, in order. Pure: the v2 tests assert them file by file. */
    List<Write> plan(Limits limits) {
        long quota = limits.cpuMillis() * CPU_PERIOD_US / 1000;
        List<Write> writes = new ArrayList<>();
        writes.add(new Write(Knob.MEMORY_LIMIT, Long.toString(limits.memoryBytes())));
        if (version == Version.V1) {
            // memsw is memory plus swap: equal to the memory limit means no swap at all.
            writes.add(new Write(Knob.SWAP_LIMIT, Long.toString(limits.memoryBytes())));
            writes.add(new Write(Knob.CPU_PERIOD, Long.toString(CPU_PERIOD_US)));
            writes.add(new Write(Knob.CPU_QUOTA, Long.toString(quota)));
        } else {
            writes.add(new Write(Knob.SWAP_LIMIT, "0"));
            writes.add(new Write(Knob.CPU_MAX, quota + " " + CPU_PERIOD_US));
        }
        writes.add(new Write(Knob.PIDS_MAX, Integer.toString(limits.pidsMax())));
        return writes;
    }

    /** Creates an environment's cgroup and applies its limits; on any failure nothing is left behind. */
    Cgroup create(String name, Limits limits) {
        Cgroup cg = new Cgroup(name);
        try {
            for (Path dir : cg.dirs()) {
                Files.createDirectory(dir);
            }
            for (Write w : plan(limits)) {
                Path file = cg.file(w.knob());
                try {
                    Files.writeString(file, w.value());
                } catch (IOException e) {
                    throw new IOException("writing " + w.value() + " to " + file + " failed: " + e, e);
                }
            }
            return cg;
        } catch (IOException e) {
            cg.remove();
            throw new SandboxException(SandboxException.Code.CGROUP_SETUP_FAILED,
                    "cannot set up cgroup " + name + ": " + e.getMessage(), e);
        }
    }

    /** One environment's cgroup. */
    final class Cgroup {
        private final String name;
        private java.nio.channels.FileChannel peakFile;
        private final java.nio.ByteBuffer peakBuffer = java.nio.ByteBuffer.allocate(32);

        Cgroup(String name) {
            this.name = name;
        }

        String name() {
            return name;
        }

        List<Path> dirs() {
            return version == Version.V1
                    ? controllers.stream().map(c -> root.resolve(c).resolve(base).resolve(name)).toList()
                    : List.of(base.resolve("envs").resolve(name));
        }

        Path file(Knob knob) {
            Place p = KNOBS.get(knob).get(version);
            if (p == null) {
                throw new IllegalArgumentException(knob + " does not exist on cgroup " + version);
            }
            Path dir = version == Version.V1 ? root.resolve(p.controller()).resolve(base).resolve(name)
                    : base.resolve("envs").resolve(name);
            return dir.resolve(p.file());
        }

        /** The files a process writes its pid into to join, before it execs. */
        List<Path> procsFiles() {
            return dirs().stream().map(d -> d.resolve("cgroup.procs")).toList();
        }

        Usage usage() {
            Map<String, Long> cpu = keyed(read(Knob.CPU_STAT));
            long throttled = version == Version.V1 ? cpu.getOrDefault("throttled_time", 0L)
                    : cpu.getOrDefault("throttled_usec", 0L) * 1000;
            return new Usage(number(read(Knob.MEMORY_CURRENT)), number(read(Knob.MEMORY_PEAK)), throttled,
                    cpu.getOrDefault("nr_throttled", 0L), number(read(Knob.PIDS_CURRENT)));
        }

        /** Read on every invocation: through a file kept open, re-read from offset 0, which cgroupfs allows. */
        synchronized long memoryPeak() {
            try {
                if (peakFile == null) {
                    peakFile = java.nio.channels.FileChannel.open(file(Knob.MEMORY_PEAK));
                }
                peakBuffer.clear();
                peakFile.read(peakBuffer, 0);
                return number(new String(peakBuffer.array(), 0, peakBuffer.position(), StandardCharsets.US_ASCII));
            } catch (IOException | IllegalArgumentException e) {
                return number(read(Knob.MEMORY_PEAK));
            }
        }

        private synchronized void closePeakFile() {
            if (peakFile != null) {
                try {
                    peakFile.close();
                } catch (IOException e) {
                    // nothing to keep
                }
                peakFile = null;
            }
        }

        /** How many times the kernel's OOM killer struck in this cgroup. */
        long oomKills() {
            return keyed(read(Knob.OOM_EVENTS)).getOrDefault("oom_kill", 0L);
        }

        /** How many times usage ran into the memory limit (v1 {@code memory.failcnt}, v2 {@code max} events). */
        long limitHits() {
            return version == Version.V1 ? number(read(Knob.LIMIT_HITS))
                    : keyed(read(Knob.LIMIT_HITS)).getOrDefault("max", 0L);
        }

        /**
         * Freezes ({@code true}) or thaws every process in the cgroup. A frozen process runs nothing until thawed:
         * neither its threads nor its children, whatever they were doing.
         */
        void freeze(boolean frozen) {
            if (!freezer()) {
                return;
            }
            String value = FREEZE_VALUES.get(version).get(frozen ? 0 : 1);
            try {
                Files.writeString(file(Knob.FREEZE), value);
            } catch (IOException e) {
                throw new SandboxException(SandboxException.Code.CGROUP_SETUP_FAILED, "cannot write " + value
                        + " to " + file(Knob.FREEZE) + ": " + e.getMessage(), e);
            }
        }

        /** SIGKILL to every process in the cgroup, until it is empty; returns how many. */
        int killAll() {
            int killed = 0;
            // A frozen v1 task takes no signal, not even SIGKILL, until it is thawed.
            if (freezer() && Files.exists(file(Knob.FREEZE))) {
                try {
                    freeze(false);
                } catch (SandboxException e) {
                    LOG.log(Level.WARNING, "sandbox.thaw-failed cgroup={0} error={1}", name, e.getMessage());
                }
            }
            if (version == Version.V2 && Files.exists(file(Knob.KILL))) {
                try {
                    Files.writeString(file(Knob.KILL), "1");
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "sandbox.cgroup-kill-failed cgroup={0} error={1}", name, e.toString());
                }
            }
            for (int round = 0; round < 50; round++) {
                List<Long> pids = pids();
                if (pids.isEmpty()) {
                    break;
                }
                for (long pid : pids) {
                    if (ProcessHandle.of(pid).map(ProcessHandle::destroyForcibly).orElse(false)) {
                        killed++;
                    }
                }
                sleep(20);
            }
            return killed;
        }

        List<Long> pids() {
            String procs = read(Knob.PROCS);
            return procs.lines().filter(l -> !l.isBlank()).map(l -> Long.parseLong(l.strip())).toList();
        }

        /** Removes the cgroup once its processes are gone. */
        void remove() {
            closePeakFile();
            for (Path dir : dirs()) {
                for (int attempt = 0; attempt < 50 && Files.exists(dir); attempt++) {
                    try {
                        Files.delete(dir);
                    } catch (NoSuchFileException gone) {
                        break;
                    } catch (IOException busy) {
                        if (isCgroupfs(dir)) {
                            sleep(20); // its last tasks are still exiting
                        } else {
                            deleteTree(dir); // a plain directory shaped like cgroupfs, as in tests
                        }
                    }
                }
            }
        }

        private String read(Knob knob) {
            try {
                return Files.readString(file(knob), StandardCharsets.US_ASCII);
            } catch (IOException | IllegalArgumentException e) {
                return "";
            }
        }
    }

    private static boolean isCgroupfs(Path dir) {
        try {
            return Files.getFileStore(dir).type().startsWith("cgroup");
        } catch (IOException e) {
            return true;
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Best effort on a plain directory tree; real cgroupfs directories go through rmdir only.
        }
    }

    private static long number(String text) {
        String t = text.strip();
        if (t.isEmpty() || t.equals("max")) {
            return 0;
        }
        try {
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Parses {@code key value} lines (cpu.stat, memory.events, memory.oom_control). */
    private static Map<String, Long> keyed(String text) {
        Map<String, Long> m = new java.util.HashMap<>();
        for (String line : text.split("\n")) {
            String[] kv = line.strip().split("\\s+");
            if (kv.length == 2) {
                m.put(kv[0], number(kv[1]));
            }
        }
        return m;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
