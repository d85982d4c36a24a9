package dev.bramble.sandbox;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cgroup v2 path, against a directory tree shaped like cgroupfs as systemd delegates it to
 * {@code brambled.service}. It runs the same {@link CgroupTree} code as v1; only {@link CgroupTree#KNOBS} differs.
 */
class CgroupV2TreeTest {
    @TempDir
    Path root;
    Path service;

    @BeforeEach
    void delegatedTree() throws IOException {
        Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc");
        service = root.resolve("system.slice/brambled.service");
        Files.createDirectories(service);
        Files.writeString(service.resolve("cgroup.procs"), "4242\n");
        Files.writeString(service.resolve("cgroup.subtree_control"), "");
    }

    private CgroupTree tree() {
        return CgroupTree.detect(root, "ignored-on-v2", "0::/system.slice/brambled.service\n").orElseThrow();
    }

    @Test
    void detectsV2AndTheDaemonsOwnCgroup() {
        CgroupTree t = tree();
        assertThat(t.version()).isEqualTo(CgroupTree.Version.V2);
    }

    @Test
    void prepareMovesTheDaemonToALeafAndDelegatesControllers() throws IOException {
        tree().prepare(4242);
        assertThat(Files.readString(service.resolve("daemon/cgroup.procs"))).isEqualTo("4242");
        assertThat(Files.readString(service.resolve("cgroup.subtree_control"))).isEqualTo("+memory +cpu +pids");
        assertThat(Files.readString(service.resolve("envs/cgroup.subtree_control"))).isEqualTo("+memory +cpu +pids");
    }

    @Test
    void createWritesExactlyTheseFilesAndValues() throws IOException {
        CgroupTree t = tree();
        t.prepare(4242);
        CgroupTree.Cgroup cg = t.create("hello_1-7", new Limits(64, 250, 128, 16));
        Path env = service.resolve("envs/hello_1-7");
        try (var files = Files.list(env)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("cpu.max", "memory.max", "memory.swap.max", "pids.max");
        }
        assertThat(Files.readString(env.resolve("memory.max"))).isEqualTo("67108864");
        assertThat(Files.readString(env.resolve("memory.swap.max"))).isEqualTo("0");
        assertThat(Files.readString(env.resolve("cpu.max"))).isEqualTo("25000 100000");
        assertThat(Files.readString(env.resolve("pids.max"))).isEqualTo("128");
        assertThat(cg.procsFiles()).containsExactly(env.resolve("cgroup.procs"));
    }

    @Test
    void usageAndOomAreReadFromV2Files() throws IOException {
        CgroupTree t = tree();
        t.prepare(4242);
        CgroupTree.Cgroup cg = t.create("e", new Limits(64, 1000, 64, 8));
        Path env = service.resolve("envs/e");
        Files.writeString(env.resolve("memory.current"), "1048576\n");
        Files.writeString(env.resolve("memory.peak"), "2097152\n");
        Files.writeString(env.resolve("pids.current"), "17\n");
        Files.writeString(env.resolve("cpu.stat"), "usage_usec 900\nnr_periods 10\nnr_throttled 4\nthrottled_usec 1500\n");
        Files.writeString(env.resolve("memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        assertThat(cg.usage()).isEqualTo(new Usage(1_048_576, 2_097_152, 1_500_000, 4, 17));
        assertThat(cg.oomKills()).isEqualTo(1);
        assertThat(cg.limitHits()).isEqualTo(3);
    }

    @Test
    void freezeAndThawWriteCgroupFreezeAndAKillThawsFirst() throws IOException {
        CgroupTree t = tree();
        t.prepare(4242);
        assertThat(t.freezer()).isTrue();
        CgroupTree.Cgroup cg = t.create("idle", new Limits(64, 1000, 64, 8));
        Path freeze = service.resolve("envs/idle/cgroup.freeze");
        Files.writeString(service.resolve("envs/idle/cgroup.procs"), "");
        cg.freeze(true);
        assertThat(Files.readString(freeze)).isEqualTo("1");
        cg.freeze(false);
        assertThat(Files.readString(freeze)).isEqualTo("0");
        cg.freeze(true);
        cg.killAll();
        assertThat(Files.readString(freeze)).as("thawed before the kill").isEqualTo("0");
    }

    @Test
    void v1FreezesThroughItsFreezerControllerWhereMounted() throws IOException {
        Path v1 = root.resolve("v1");
        for (String c : List.of("memory", "cpu", "pids")) {
            Files.createDirectories(v1.resolve(c));
        }
        CgroupTree without = CgroupTree.detect(v1, "bramble", "").orElseThrow();
        assertThat(without.freezer()).isFalse();
        Files.createDirectories(v1.resolve("freezer"));
        CgroupTree with = CgroupTree.detect(v1, "bramble", "").orElseThrow();
        assertThat(with.freezer()).isTrue();
        assertThat(with.new Cgroup("e").file(CgroupTree.Knob.FREEZE))
                .isEqualTo(v1.resolve("freezer/bramble/e/freezer.state"));
        assertThat(with.new Cgroup("e").procsFiles()).contains(v1.resolve("freezer/bramble/e/cgroup.procs"));
        assertThat(CgroupTree.FREEZE_VALUES.get(CgroupTree.Version.V1)).containsExactly("FROZEN", "THAWED");
    }

    @Test
    void leftoversOfAPreviousRunAreRemovedAtPrepare() throws IOException {
        Files.createDirectories(service.resolve("envs/stale-1"));
        Files.writeString(service.resolve("envs/stale-1/cgroup.procs"), "");
        CgroupTree t = tree();
        t.prepare(4242);
        assertThat(t.environments()).isEmpty();
    }

    @Test
    void v1AndV2PlanTheSameLimitsWithTheirOwnKnobs() {
        Limits limits = new Limits(96, 500, 256, 16);
        CgroupTree v1 = new CgroupTree(CgroupTree.Version.V1, root, Path.of("bramble"));
        assertThat(v1.plan(limits)).containsExactly(
                new CgroupTree.Write(CgroupTree.Knob.MEMORY_LIMIT, "100663296"),
                new CgroupTree.Write(CgroupTree.Knob.SWAP_LIMIT, "100663296"),
                new CgroupTree.Write(CgroupTree.Knob.CPU_PERIOD, "100000"),
                new CgroupTree.Write(CgroupTree.Knob.CPU_QUOTA, "50000"),
                new CgroupTree.Write(CgroupTree.Knob.PIDS_MAX, "256"));
        assertThat(tree().plan(limits)).containsExactly(
                new CgroupTree.Write(CgroupTree.Knob.MEMORY_LIMIT, "100663296"),
                new CgroupTree.Write(CgroupTree.Knob.SWAP_LIMIT, "0"),
                new CgroupTree.Write(CgroupTree.Knob.CPU_MAX, "50000 100000"),
                new CgroupTree.Write(CgroupTree.Knob.PIDS_MAX, "256"));
    }

    @Test
    void noCgroupfsMeansNoTree() {
        assertThat(CgroupTree.detect(root.resolve("nothing"), "b", "")).isEqualTo(Optional.empty());
        assertThat(List.of(CgroupTree.Version.values())).hasSize(2);
    }
}
