package dev.bramble.sandbox;

import dev.bramble.sandbox.CgroupTree.Cgroup;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Containment from the tools every Raspberry Pi OS has: cgroups for limits, bubblewrap for a private /tmp and a
 * private view of the file system, setpriv for an unprivileged identity. A launch is a chain of execs, so
 * nothing runs outside the limits even for an instant:
 * <pre>
 *   sh -c 'join cgroups; exec "$@"'  →  bwrap … --  →  setpriv --reuid … --  →  java …
 * </pre>
 * Each piece is used where available; {@link #isolation()} names what is missing.
 */
final class LinuxSandbox implements Sandbox {
    private static final System.Logger LOG = System.getLogger(LinuxSandbox.class.getName());
    /** Writes its own pid into each cgroup.procs given, then execs the rest: the process joins before exec. */
    static final String JOIN = "n=$1; shift; while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit 125; shift; "
            + "n=$((n-1)); done; exec \"$@\"";

    /**
     * The whole environment of every step of the launch chain that runs with privileges (the cgroup join, bwrap,
     * setpriv): fixed, so nothing a bundle sets (a loader variable, say) can reach a process running as root.
     */
    static final java.util.Map<String, String> CHAIN_ENVIRONMENT = java.util.Map.of(
            "PATH", "/usr/sbin:/usr/bin:/sbin:/bin", "LANG", "C.UTF-8");
    /**
     * The last step, run as the process's own user after privileges are dropped: exports the spec's variables from
     * the file named by $0, then execs the command. The variables never appear on a command line.
     */
    static final String APPLY_ENVIRONMENT = "set -a; . \"$0\" || exit 125; set +a; exec \"$@\"";
    /** Where a process finds its variables' file: in its private /tmp, bound read-only from the host. */
    static final String ENVIRONMENT_FILE = ".bramble-environment";
    private static final java.util.regex.Pattern VARIABLE = java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /**
     * Thaws every environment of the subtree named by $0 when it gets SIGTERM, which setpriv's parent-death signal
     * sends when the daemon dies, however it dies: a frozen v1 environment would otherwise outlive it, since its
     * tasks take the SIGKILL of bwrap's --die-with-parent only once thawed.
     */
    static final String THAW_ON_DEATH = "trap 'for f in \"$0\"/*/freezer.state; do [ -e \"$f\" ] && echo THAWED > \"$f\"; "
            + "done; kill $! 2>/dev/null; exit 0' TERM; while :; do sleep 3600 & wait $!; done";

    /** Where a daemon's claim on its cgroups is held: a lock the kernel lets go of when the daemon dies. */
    static final Path CLAIMS = Path.of("/run/bramble-sandbox");

    /** What a contained process must not see of the host even read-only, where the host has it. */
    static final List<Path> HIDDEN_ALWAYS = List.of(Path.of("/sys/fs/cgroup"), Path.of("/dev/mqueue"));

    private final CgroupTree cgroups;
    private final java.nio.channels.FileChannel claim;
    private final Path bwrap;
    private final Path setpriv;
    private final Firewall firewall;
    private final Isolation isolation;
    private final ExecutorService spawner;
    private final Process watchdog;
    /** Those of {@link #HIDDEN_ALWAYS} this host has, looked up once. */
    private final List<Path> hiddenAlways = HIDDEN_ALWAYS.stream().filter(Files::isDirectory).toList();
    private final AtomicLong sequence = new AtomicLong();

    private LinuxSandbox(CgroupTree cgroups, java.nio.channels.FileChannel claim, Path bwrap, Path setpriv,
                         Firewall firewall, Isolation isolation) {
        this.cgroups = cgroups;
        this.claim = claim;
        this.bwrap = bwrap;
        this.setpriv = setpriv;
        this.firewall = firewall;
        this.isolation = isolation;
        // bwrap --die-with-parent ties a child's life to the thread that forked it, so every fork happens on one
        // platform thread that lives as long as the sandbox.
        this.spawner = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("bramble-spawner")
                .daemon(true).unstarted(r));
        this.watchdog = cgroups == null || setpriv == null ? null : cgroups.v1FreezerSubtree().map(this::watchdog)
                .orElse(null);
    }

    /** Starts the v1 freezer's watchdog ({@link #THAW_ON_DEATH}) on the spawner thread, whose death it watches. */
    private Process watchdog(Path freezerSubtree) {
        ProcessBuilder pb = new ProcessBuilder(setpriv.toString(), "--pdeathsig", "TERM", "--", "/bin/sh", "-c",
                THAW_ON_DEATH, freezerSubtree.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        pb.environment().putAll(CHAIN_ENVIRONMENT);
        try {
            return spawner.submit(pb::start).get();
        } catch (ExecutionException e) {
            throw new SandboxException(SandboxException.Code.LAUNCH_FAILED, "cannot start the freezer's watchdog: "
                    + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Code.LAUNCH_FAILED, "interrupted starting the freezer's "
                    + "watchdog", e);
        }
    }

    static LinuxSandbox unconfined() {
        return new LinuxSandbox(null, null, null, null, null, new Isolation("degraded", "none",
                List.of("cgroups: not requested", "tmpfs: not requested", "identity: not requested",
                        "freezer: not requested", "network: not requested")));
    }

    static LinuxSandbox create(SandboxSettings s) {
        List<String> missing = new ArrayList<>();
        boolean root = currentUid() == 0;
        CgroupTree cgroups = null;
        java.nio.channels.FileChannel claim = null;
        try {
            String self = Files.readString(Path.of("/proc/self/cgroup"));
            cgroups = CgroupTree.detect(s.cgroupRoot(), s.cgroupName(), self).orElse(null);
            if (cgroups == null) {
                missing.add("cgroups: no cgroup v1 controllers or v2 hierarchy at " + s.cgroupRoot());
            } else {
                // Before the start-up clean-up, which kills whatever runs in these cgroups.
                claim = claim(cgroups.subtree(), s.cgroupName());
                cgroups.prepare(ProcessHandle.current().pid());
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof SandboxException inUse) {
                throw inUse;
            }
            missing.add("cgroups: cannot manage " + s.cgroupRoot() + " (" + e.getMessage() + ")");
            cgroups = null;
        }
        Path bwrap = null;
        if (!root) {
            missing.add("tmpfs: needs root to mount a private /tmp");
        } else if (!Files.isExecutable(s.bwrap())) {
            missing.add("tmpfs: bubblewrap not found at " + s.bwrap() + " (apt-get install bubblewrap)");
        } else if (!probe(List.of(s.bwrap().toString(), "--dev-bind", "/", "/", "--tmpfs", "/tmp", "true"))) {
            missing.add("tmpfs: " + s.bwrap() + " cannot create a mount namespace here");
        } else {
            bwrap = s.bwrap();
        }
        Path setpriv = null;
        if (!root) {
            missing.add("identity: needs root to run functions as their own users");
        } else if (!Files.isExecutable(s.setpriv())) {
            missing.add("identity: setpriv not found at " + s.setpriv() + " (apt-get install util-linux)");
        } else {
            setpriv = s.setpriv();
        }
        if (cgroups != null && !cgroups.freezer()) {
            missing.add("freezer: no cgroup v1 freezer at " + s.cgroupRoot().resolve(CgroupTree.FREEZER)
                    + ": an idle function's background work keeps running");
        }
        Firewall firewall = null;
        if (setpriv == null) {
            missing.add("network: needs functions under their own uids to keep them off the daemon's listeners");
        } else if (!Files.isExecutable(s.nft())) {
            missing.add("network: nft not found at " + s.nft() + " (apt-get install nftables): functions can "
                    + "reach the daemon's own listeners");
        } else if (!probe(List.of(s.nft().toString(), "list", "tables"))) { // needs netfilter and the privilege
            missing.add("network: " + s.nft() + " cannot use netfilter here: functions can reach the daemon's own "
                    + "listeners");
        } else {
            firewall = new Firewall(s.nft(), cgroups != null ? cgroups.subtree() : s.cgroupName(), s.uidFirst(),
                    s.uidLast());
        }
        Isolation isolation = new Isolation(missing.isEmpty() ? "full" : "degraded",
                cgroups == null ? "none" : cgroups.version().name().toLowerCase(), missing);
        if (s.requireIsolation() && !missing.isEmpty()) {
            throw new SandboxException(SandboxException.Code.ISOLATION_UNAVAILABLE,
                    "isolation is required (sandbox.require-isolation) but not available: " + String.join("; ",
                            missing), null);
        }
        return new LinuxSandbox(cgroups, claim, bwrap, setpriv, firewall, isolation);
    }

    /**
     * Claims a cgroup subtree for this daemon, or refuses: two daemons sharing one would kill each other's
     * environments at start-up and list dead ones as idle. The claim is a lock on a file named after the subtree,
     * which the kernel releases when the daemon dies, however it dies.
     */
    static java.nio.channels.FileChannel claim(String subtree, String cgroupName) throws IOException {
        Files.createDirectories(CLAIMS);
        Path file = CLAIMS.resolve(subtree.replaceAll("[^A-Za-z0-9_.-]", "_") + ".lock");
        java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE);
        java.nio.channels.FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException sameJvm) {
            lock = null;
        }
        if (lock == null) {
            String holder = Files.readString(file).strip();
            channel.close();
            throw new SandboxException(SandboxException.Code.CGROUP_IN_USE, "sandbox.cgroup-name '" + cgroupName
                    + "': its cgroups (" + subtree + ") are in use by another brambled"
                    + (holder.isEmpty() ? "" : " (pid " + holder + ")") + "; give each daemon on a host a "
                    + "sandbox.cgroup-name of its own", null);
        }
        channel.truncate(0);
        channel.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(
                java.nio.charset.StandardCharsets.US_ASCII)), 0);
        return channel;
    }

    @Override
    public Isolation isolation() {
        return isolation;
    }

    @Override
    public boolean privateTmp() {
        return bwrap != null;
    }

    @Override
    public boolean separateIdentities() {
        return setpriv != null;
    }

    @Override
    public void shutOut(List<Listener> listeners) {
        if (firewall != null) {
            firewall.apply(listeners);
            LOG.log(Level.INFO, "sandbox.shut-out table={0} listeners={1}", firewall.table(), listeners);
        }
    }

    @Override
    public ContainedProcess launch(LaunchSpec spec) throws IOException {
        String name = spec.name().replaceAll("[^A-Za-z0-9_.-]", "_") + "-" + sequence.incrementAndGet();
        Cgroup cg = cgroups == null ? null : cgroups.create(name, spec.limits());
        try {
            boolean privileged = cg != null || bwrap != null || setpriv != null && spec.identity().isPresent();
            Optional<Path> variables = privileged ? Optional.of(writeEnvironment(spec)) : Optional.empty();
            ProcessBuilder pb = new ProcessBuilder(command(spec, cg, variables)).directory(spec.workDir().toFile());
            pb.environment().clear();
            pb.environment().putAll(privileged ? CHAIN_ENVIRONMENT : spec.environment());
            Future<Process> started = spawner.submit(pb::start);
            return new Child(started.get(), cg);
        } catch (ExecutionException e) {
            release(cg);
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            release(cg);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting " + spec.name(), e);
        } catch (RuntimeException e) {
            release(cg);
            throw e;
        }
    }

    /**
     * Writes the spec's variables as a shell file only its user can read, in {@link LaunchSpec#hostTmp()}. Values
     * are single-quoted, so the shell that reads them expands nothing.
     */
    private static Path writeEnvironment(LaunchSpec spec) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (java.util.Map.Entry<String, String> e : new java.util.TreeMap<>(spec.environment()).entrySet()) {
            if (!VARIABLE.matcher(e.getKey()).matches() || e.getValue().indexOf('\0') >= 0) {
                throw new IllegalArgumentException("environment variable '" + e.getKey() + "' of " + spec.name()
                        + ": names are [A-Za-z_][A-Za-z0-9_]* and values hold no NUL");
            }
            sb.append(e.getKey()).append("='").append(e.getValue().replace("'", "'\\''")).append("'\n");
        }
        Path file = spec.hostTmp().resolve(ENVIRONMENT_FILE);
        Files.deleteIfExists(file);
        Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("r--------")));
        Files.writeString(file, sb);
        if (spec.identity().isPresent()) {
            Files.setAttribute(file, "unix:uid", spec.identity().get().uid());
            Files.setAttribute(file, "unix:gid", spec.identity().get().gid());
        }
        return file;
    }

    /**
     * The exec chain for a spec whose variables are in {@code variables} (a file {@link #writeEnvironment} made),
     * applied by the last step only; without it, the spec's variables are the whole chain's.
     */
    List<String> command(LaunchSpec spec, Cgroup cg, Optional<Path> variables) {
        List<String> cmd = new ArrayList<>();
        if (cg != null) {
            List<Path> procs = cg.procsFiles();
            cmd.addAll(List.of("/bin/sh", "-c", JOIN, "sh", Integer.toString(procs.size())));
            procs.forEach(p -> cmd.add(p.toString()));
        }
        if (bwrap != null) {
            // The host's file system read-only; its devices as they are (functions talk to serial ports and GPIO);
            // the only writable places are private tmpfs: /tmp, and /dev/shm instead of the host's, both within the
            // /tmp quota each and charged to the environment's memory cgroup, both gone with the environment.
            String tmpBytes = Long.toString((long) spec.limits().tmpMb() << 20);
            cmd.addAll(List.of(bwrap.toString(), "--die-with-parent", "--new-session", "--unshare-pid",
                    "--unshare-ipc"));
            if (!spec.network()) {
                cmd.add("--unshare-net"); // a network namespace of its own: loopback only, and no one else's
            }
            cmd.addAll(List.of("--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev",
                    "--perms", "1777", "--size", tmpBytes, "--tmpfs", "/dev/shm",
                    "--perms", "1777", "--size", tmpBytes, "--tmpfs", "/tmp"));
            List<Path> tmpfs = new ArrayList<>(List.of(Path.of("/tmp")));
            // Other environments' cgroups (their names, memory, pids) and the host's POSIX message queues: empty,
            // root's, read-only to the function.
            for (Path h : hiddenAlways) {
                cmd.addAll(List.of("--tmpfs", h.toString()));
                tmpfs.add(h);
            }
            for (Path h : spec.hidden()) {
                Path at = hideAt(h);
                if (!tmpfs.contains(at)) {
                    cmd.addAll(List.of("--tmpfs", at.toString()));
                    tmpfs.add(at);
                }
            }
            // bwrap makes missing mount points 0700 (root's); a function must be able to walk down to its code.
            java.util.Set<Path> dirs = new java.util.LinkedHashSet<>();
            List<Path> bound = new ArrayList<>(spec.readOnly());
            bound.addAll(spec.writable());
            for (Path r : bound) {
                for (Path top : tmpfs) {
                    if (r.startsWith(top)) {
                        for (Path a = top.relativize(r).getParent(); a != null; a = a.getParent()) {
                            dirs.add(top.resolve(a));
                        }
                    }
                }
            }
            dirs.stream().sorted(java.util.Comparator.comparingInt(Path::getNameCount))
                    .forEach(d -> cmd.addAll(List.of("--perms", "0755", "--dir", d.toString())));
            for (Path r : spec.readOnly()) {
                cmd.addAll(List.of("--ro-bind", r.toString(), r.toString()));
            }
            for (Path w : spec.writable()) {
                cmd.addAll(List.of("--bind", w.toString(), w.toString()));
            }
            variables.ifPresent(f -> cmd.addAll(List.of("--ro-bind", f.toString(), "/tmp/" + ENVIRONMENT_FILE)));
            cmd.addAll(List.of("--proc", "/proc", "--chdir", spec.workDir().toString(), "--"));
        }
        Optional<Identity> id = spec.identity();
        if (setpriv != null && id.isPresent()) {
            cmd.addAll(List.of(setpriv.toString(), "--reuid=" + id.get().uid(), "--regid=" + id.get().gid(),
                    "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"));
        }
        variables.ifPresent(f -> cmd.addAll(List.of("/bin/sh", "-c", APPLY_ENVIRONMENT,
                bwrap != null ? "/tmp/" + ENVIRONMENT_FILE : f.toString())));
        cmd.addAll(spec.command());
        return cmd;
    }

    /**
     * Where to put the empty tmpfs that hides {@code path}: at the path itself, or, when an ancestor is closed to
     * other users (a data directory under /root), at the top-most such ancestor. A function could not walk through
     * that ancestor to the code bound back in below it; under a fresh tmpfs it can.
     */
    static Path hideAt(Path path) {
        Path current = path.getRoot();
        for (Path part : path) {
            current = current.resolve(part);
            if (current.equals(path)) {
                break;
            }
            try {
                if (!Files.getPosixFilePermissions(current).contains(PosixFilePermission.OTHERS_EXECUTE)) {
                    return current;
                }
            } catch (IOException e) {
                return path;
            }
        }
        return path;
    }

    @Override
    public void close() {
        spawner.shutdownNow();
        if (watchdog != null) {
            watchdog.destroy();
        }
        if (firewall != null) {
            try {
                firewall.remove();
            } catch (SandboxException e) {
                LOG.log(Level.WARNING, "sandbox.firewall-remove-failed error={0}", e.getMessage());
            }
        }
        if (cgroups != null) {
            cgroups.removeIfEmpty();
        }
        if (claim != null) {
            try {
                claim.close();
            } catch (IOException e) {
                // released with the process anyway
            }
        }
    }

    private static void release(Cgroup cg) {
        if (cg != null) {
            cg.killAll();
            cg.remove();
        }
    }

    private static boolean probe(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().transferTo(OutputStream.nullOutputStream());
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static int currentUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** A started process and its cgroup. */
    private record Child(Process process, Cgroup cgroup) implements ContainedProcess {
        @Override
        public long pid() {
            return process.pid();
        }

        @Override
        public OutputStream stdin() {
            return process.getOutputStream();
        }

        @Override
        public InputStream stdout() {
            return process.getInputStream();
        }

        @Override
        public InputStream stderr() {
            return process.getErrorStream();
        }

        @Override
        public boolean isAlive() {
            return process.isAlive();
        }

        @Override
        public CompletableFuture<Exit> onExit() {
            return process.onExit().thenApply(p -> new Exit(p.exitValue()));
        }

        @Override
        public void freeze() {
            if (cgroup != null) {
                cgroup.freeze(true);
            }
        }

        @Override
        public void thaw() {
            if (cgroup != null) {
                cgroup.freeze(false);
            }
        }

        @Override
        public void kill() {
            if (cgroup != null) {
                cgroup.killAll();
            }
            // The process first: a parent that outlives its children might exit cleanly and hide the kill.
            List<ProcessHandle> tree = process.descendants().toList();
            process.destroyForcibly();
            tree.forEach(ProcessHandle::destroyForcibly);
        }

        /**
         * Waits through {@link Process#onExit()}, not {@link Process#waitFor}: a future parks a virtual thread,
         * while waitFor's monitor pins its carrier on JDK 21.
         */
        @Override
        public void stop(Duration grace) {
            if (cgroup != null && process.isAlive()) {
                try {
                    thaw(); // a frozen process cannot take SIGTERM, nor exit when its input closes
                } catch (SandboxException e) {
                    LOG.log(Level.WARNING, "sandbox.thaw-failed pid={0} error={1}", pid(), e.getMessage());
                }
            }
            if (process.isAlive() && !exited(grace.toMillis())) {
                process.destroy();
                if (!exited(Math.min(grace.toMillis(), 500))) {
                    LOG.log(Level.INFO, "sandbox.kill pid={0} reason=grace-expired grace_ms={1}", pid(),
                            grace.toMillis());
                }
            }
            kill();
            if (!exited(5_000)) {
                LOG.log(Level.WARNING, "sandbox.kill pid={0} still-alive-after_ms=5000", pid());
            }
            if (cgroup != null) {
                cgroup.remove();
            }
        }

        private boolean exited(long ms) {
            try {
                process.onExit().get(ms, TimeUnit.MILLISECONDS);
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !process.isAlive();
            } catch (ExecutionException | TimeoutException e) {
                return !process.isAlive();
            }
        }

        @Override
        public Usage usage() {
            return cgroup != null ? cgroup.usage() : Usage.ofProcess(process.pid());
        }

        @Override
        public long memoryPeakBytes() {
            return cgroup != null ? cgroup.memoryPeak() : Usage.ofProcess(process.pid()).memoryPeakBytes();
        }

        @Override
        public boolean oomKilled() {
            // The OOM killer's own count, or, for a process that died of SIGKILL, its cgroup having run into the
            // limit: the counter is not always visible yet when the death is noticed.
            if (cgroup == null) {
                return false;
            }
            boolean sigkill = !process.isAlive() && process.exitValue() == 137;
            return cgroup.oomKills() > 0 || sigkill && cgroup.limitHits() > 0;
        }
    }
}
