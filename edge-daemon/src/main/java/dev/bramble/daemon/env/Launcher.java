package dev.bramble.daemon.env;

import dev.bramble.daemon.config.Option;
import dev.bramble.daemon.function.FunctionIdentities;
import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.protocol.Manifest;
import dev.bramble.sandbox.Identity;
import dev.bramble.sandbox.LaunchSpec;
import dev.bramble.sandbox.Limits;
import dev.bramble.sandbox.Sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Builds what a function's child JVM is launched with: command line, environment, limits and identity. The child
 * inherits nothing from the daemon's environment: it sees Lambda's variables, a few basics and its own.
 */
public final class Launcher {
    /** Child JVM flags for short-lived, small heaps: C1 only, Serial GC, small stacks, no perf data file. */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-Xss512k", "-XX:ReservedCodeCacheSize=16m", "-XX:-UsePerfData", "-Xshare:auto");
    public static final Option.Text JAVA = Option.text("runtime.java", dev.bramble.daemon.config.Defaults::java,
            "the daemon's own java", "an executable", "the java that runs child JVMs (JDK >= 21)");
    public static final Option.Text CLASSPATH = Option.text("runtime.classpath",
            dev.bramble.daemon.config.Defaults::runtimeClasspath, "lib/runtime/* of the installation",
            "a java -cp value", "the child JVM's classpath");
    public static final Option<List<String>> JVM_OPTIONS = Option.strings("runtime.jvm-options", DEFAULT_JVM_OPTIONS,
            "options for every child JVM; the heap is sized from the function's memory");
    public static final Option<Boolean> CLASS_DATA_ARCHIVES = Option.flag("runtime.class-data-archives", true,
            "keep a class-data archive (AppCDS) per function version: faster cold starts");
    public static final Option<Integer> MB_PER_CPU = Option.integer("sandbox.mb-per-cpu", 128, 16, 65_536, "MB",
            "memory that earns one core when function.json sets no cpus (capped by the device's cores)");
    public static final Option<Integer> PIDS_MAX = Option.integer("sandbox.pids-max", 256, 16, 65_536, "",
            "processes and threads per environment");

    private static final System.Logger LOG = System.getLogger(Launcher.class.getName());
    static final String MAIN = "dev.bramble.runtime.Main";
    /** What tells the runtime to train (dev.bramble.runtime.Main.TRAIN). */
    static final String TRAIN = "BRAMBLE_TRAIN";
    /**
     * Share of the memory limit given to the heap, as Lambda's Java runtime does: heap plus the JVM's own memory
     * can pass the limit, and then the kernel, not the JVM, ends the environment.
     */
    static final int HEAP_PERCENT = 85;
    /** The smallest CPU share an environment gets, in thousandths of a core: below it a JVM barely starts. */
    static final int MIN_CPU_MILLIS = 50;
    /** The largest class-data archive a training run may hand over, MB: the daemon stores no larger one. */
    static final int ARCHIVE_MAX_MB = 128;

    /**
     * What every launch shares.
     *
     * @param java       the java executable
     * @param classpath  the runtime's classpath (runtime, Jackson, aws-lambda-java-core)
     * @param jvmOptions options for every child
     * @param region     AWS_REGION
     * @param mbPerCpu   memory that earns one core when a function sets no {@code cpus}
     * @param pidsMax    processes and threads per environment
     * @param cores      the device's cores, the cap of any CPU share
     * @param dataDir    the daemon's data directory, hidden from functions
     * @param archives   keep a class-data archive per function version to start its JVMs faster
     */
    public record Settings(String java, String classpath, List<String> jvmOptions, String region, int mbPerCpu,
                           int pidsMax, int cores, Path dataDir, boolean archives) {
        public Settings {
            jvmOptions = List.copyOf(jvmOptions);
        }
    }

    private final Settings settings;
    private final Sandbox sandbox;
    private final FunctionIdentities identities;
    private final CallerCredentials credentials;
    private final RuntimeStage stage;
    private final String runtimeKey;
    private final RuntimeApiHub runtimeApi;
    /** Bramble's bootstraps of the managed python3 and nodejs runtimes, where every function uid can read them. */
    private final Path bootstraps;

    /** Where interpreters are looked for, in this order (Raspberry Pi OS and Debian put theirs in /usr/bin). */
    static final List<Path> INTERPRETER_DIRS = List.of(Path.of("/usr/local/bin"), Path.of("/usr/bin"),
            Path.of("/bin"));

    public Launcher(Settings settings, Sandbox sandbox, FunctionIdentities identities,
                    CallerCredentials credentials, RuntimeApiHub runtimeApi) throws IOException {
        this.credentials = credentials;
        this.runtimeApi = runtimeApi;
        this.settings = settings;
        this.sandbox = sandbox;
        this.identities = identities;
        // A function's uid cannot read the installation's files where they are not world-readable (a JDK in
        // /root, a Maven repository in tests): give it its own readable copy of the runtime classpath.
        this.stage = sandbox.separateIdentities()
                ? RuntimeStage.stage(settings.classpath(), settings.dataDir().resolve("runtime"))
                : RuntimeStage.inPlace(settings.classpath());
        this.runtimeKey = runtimeKey(settings.java(), stage.classpath());
        this.bootstraps = RuntimeStage.bootstraps(settings.dataDir().resolve("runtime-api"));
    }

    /** Where Runtime API environments find their API. */
    RuntimeApiHub runtimeApi() {
        return runtimeApi;
    }

    /** The CPU share of a function: its {@code cpus}, else its memory over {@code mbPerCpu}, capped (see below). */
    int cpuMillis(Manifest m) {
        return cpuMillis(m.cpus().orElse(m.memoryMb() / (double) settings.mbPerCpu()), settings.cores());
    }

    /**
     * A share of {@code cores} cores, in thousandths of a core: at least {@link #MIN_CPU_MILLIS}, and never the
     * whole device. A quarter of a core per core, half a core at most, stays the daemon's, so a function spinning
     * at its quota cannot starve the daemon's API, triggers and other functions (a 256 MB function would otherwise
     * get both cores of a 2-core board).
     */
    static int cpuMillis(double cpus, int cores) {
        long device = cores * 1000L;
        long cap = device - Math.min(500, device / 4);
        return (int) Math.max(MIN_CPU_MILLIS, Math.min(cap, Math.round(cpus * 1000)));
    }

    /**
     * What an environment of {@code v} is launched with; a {@code training} one makes the version's class-data
     * archive and sends it over its channel.
     */
    LaunchSpec spec(FunctionVersion v, String stream, Path hostTmp, boolean training) throws IOException {
        Manifest m = v.manifest();
        Optional<Identity> identity = sandbox.separateIdentities() ? Optional.of(identities.of(v.function()))
                : Optional.empty();
        Path tmp = sandbox.privateTmp() ? Path.of("/tmp") : hostTmp;
        if (identity.isPresent()) {
            restrictToFunction(v.codeDir().getParent(), identity.get());
        }
        if (identity.isPresent() && !sandbox.privateTmp()) {
            Files.setAttribute(hostTmp, "unix:uid", identity.get().uid());
            Files.setAttribute(hostTmp, "unix:gid", identity.get().gid());
        }
        Manifest.Runtime runtime = m.runtimeKind();
        List<Path> readOnly = new ArrayList<>();
        int tmpMb = m.tmpMb();
        List<String> command = runtime == Manifest.Runtime.JAVA21
                ? javaCommand(v, m, tmp, training, readOnly) : runtimeApiCommand(v, m);
        if (training && runtime == Manifest.Runtime.JAVA21 && settings.archives()) {
            tmpMb = Math.max(tmpMb, ARCHIVE_MAX_MB);
        }
        Map<String, String> env = new HashMap<>(m.environment());
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("LANG", "C.UTF-8");
        env.put("TZ", ":UTC");
        env.put("TMPDIR", tmp.toString());
        env.put("HOME", tmp.toString());
        env.put("LAMBDA_TASK_ROOT", v.codeDir().toString());
        env.put("_HANDLER", m.handler());
        switch (runtime) {
            case JAVA21 -> env.put("AWS_EXECUTION_ENV", "AWS_Lambda_java21");
            case PYTHON3 -> {
                env.put("AWS_EXECUTION_ENV", "AWS_Lambda_python3");
                env.put("PYTHONUNBUFFERED", "1"); // each line reaches the log when printed, before the answer
                env.put("PYTHONDONTWRITEBYTECODE", "1"); // the code is read-only
            }
            case NODEJS -> {
                env.put("AWS_EXECUTION_ENV", "AWS_Lambda_nodejs");
                env.put("NODE_PATH", v.codeDir().resolve("node_modules").toString());
            }
            case PROVIDED -> { } // Lambda's provided runtimes set none
        }
        if (runtime.runtimeApi()) {
            env.put("AWS_LAMBDA_RUNTIME_API", runtimeApi.endpoint().orElseThrow(() -> new IOException(
                    "the Runtime API is not listening")));
            env.put("LAMBDA_RUNTIME_DIR", bootstraps.toString());
            if (m.concurrency().perEnvironment() > 1) {
                env.put("AWS_LAMBDA_MAX_CONCURRENCY", Integer.toString(m.concurrency().perEnvironment()));
            }
        }
        env.put("AWS_LAMBDA_FUNCTION_NAME", v.function());
        env.put("AWS_LAMBDA_FUNCTION_VERSION", Integer.toString(v.version()));
        env.put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Integer.toString(m.memoryMb()));
        env.put("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + v.function());
        env.put("AWS_LAMBDA_LOG_STREAM_NAME", stream);
        env.put("AWS_REGION", settings.region());
        env.put("AWS_DEFAULT_REGION", settings.region());
        if (training) {
            env.put(TRAIN, "1");
        } else if (!m.invokes().isEmpty()) {
            // Its own credentials, as Lambda gives an environment its role's: the AWS SDK signs with them.
            env.putAll(credentials.variables(credentials.issue(v.function(), m.invokes())));
        }
        if (m.concurrency().perEnvironment() > 1) {
            env.put("BRAMBLE_CONCURRENCY", Integer.toString(m.concurrency().perEnvironment()));
        }
        readOnly.add(v.codeDir());
        readOnly.addAll(stage.directories());
        if (runtime.runtimeApi()) {
            readOnly.add(bootstraps);
        }
        return new LaunchSpec(v.function() + "_" + v.version(), command, env, v.codeDir(),
                new Limits(m.memoryMb(), cpuMillis(m), settings.pidsMax(), tmpMb), identity, readOnly, List.of(),
                List.of(settings.dataDir()), hostTmp, m.network() == Manifest.Network.OUTBOUND);
    }

    /** A {@code java21} environment's command line: the JVM, its limits and Bramble's runtime. */
    private List<String> javaCommand(FunctionVersion v, Manifest m, Path tmp, boolean training, List<Path> readOnly) {
        List<String> command = new ArrayList<>();
        command.add(settings.java());
        command.addAll(settings.jvmOptions());
        command.add("-XX:MaxRAM=" + m.memoryMb() + "m");
        command.add("-XX:MaxRAMPercentage=" + HEAP_PERCENT);
        // The JVM cannot read its CPU quota from /sys/fs/cgroup, which the sandbox hides: it is told instead.
        int cpuMillis = cpuMillis(m);
        command.add("-XX:ActiveProcessorCount=" + Math.max(1, (cpuMillis + 999) / 1000));
        command.add("-Djava.io.tmpdir=" + tmp);
        // The JVM's own messages go to stderr, the function's log: stdout is the channel. Class-data sharing's
        // notes while dumping an archive ("Skipping … Unsupported location") are not the function's business.
        command.add("-XX:+DisplayVMOutputToStderr");
        command.add("-Xlog:disable");
        command.add("-Xlog:all=warning" + (settings.archives() ? ",cds*=off" : "") + ":stderr");
        Path archive = archive(v);
        if (settings.archives() && training) {
            // The JVM dumps its archive into its own /tmp and the runtime sends it over the channel (BRAMBLE_TRAIN,
            // below): no function's JVM writes anywhere on the data disk. Room for it in /tmp, counted like the rest.
            command.add("-XX:+RecordDynamicDumpInfo");
        } else if (settings.archives() && isArchive(archive)) {
            // Every JVM that runs the function maps it read-only; one it finds unusable is ignored, never fatal.
            command.add("-XX:SharedArchiveFile=" + archive);
            readOnly.add(archive);
        }
        command.add("-cp");
        command.add(stage.classpath());
        command.add(MAIN);
        return command;
    }

    /**
     * A Runtime API environment's command line: the bundle's {@code bootstrap}, or the device's interpreter running
     * Bramble's bootstrap for the managed runtime. A first shell points stdout at stderr, so everything the runtime
     * prints is one stream, the function's log, in the order it was written.
     */
    private List<String> runtimeApiCommand(FunctionVersion v, Manifest m) throws IOException {
        List<String> command = new ArrayList<>(List.of("/bin/sh", "-c", "exec 1>&2; exec \"$@\"", "bootstrap"));
        switch (m.runtimeKind()) {
            case PROVIDED -> command.add(v.codeDir().resolve(dev.bramble.protocol.Bundle.BOOTSTRAP).toString());
            case PYTHON3 -> {
                command.add(interpreter("python3", "python3").toString());
                command.add("-s"); // no user site: HOME is /tmp, and nothing of a user's belongs in a function
                command.add(bootstraps.resolve(RuntimeStage.PYTHON_BOOTSTRAP).toString());
            }
            case NODEJS -> {
                command.add(interpreter("node", "nodejs").toString());
                // the V8 heap within the memory limit, as Lambda's Node.js runtime sets it
                command.add("--max-old-space-size=" + Math.max(16, m.memoryMb() * HEAP_PERCENT / 100));
                command.add(bootstraps.resolve(RuntimeStage.NODE_BOOTSTRAP).toString());
            }
            case JAVA21 -> throw new IllegalArgumentException("java21 has no Runtime API command");
        }
        return command;
    }

    /** The device's {@code name} interpreter, or an error that says which package brings it. */
    static Path interpreter(String name, String debianPackage) throws IOException {
        for (Path dir : INTERPRETER_DIRS) {
            Path p = dir.resolve(name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IOException("no " + name + " on the device (looked in " + INTERPRETER_DIRS + "); the "
                + (name.equals("node") ? "nodejs" : "python3") + " runtime uses the device's own: apt install "
                + debianPackage);
    }

    /** What revokes the credentials {@link #spec} issued to an environment, when it stops. */
    Runnable revoker(FunctionVersion v, LaunchSpec spec) {
        String keyId = v.manifest().invokes().isEmpty() ? null : spec.environment().get("AWS_ACCESS_KEY_ID");
        return keyId == null ? () -> { } : () -> credentials.revoke(keyId);
    }

    /**
     * A function's directory of versions (code and {@code function.json}, whose environment values may be secrets)
     * is root's and its function's group's alone: other users of the device and other functions cannot enter it.
     */
    private static void restrictToFunction(Path functionDir, Identity identity) throws IOException {
        Files.setAttribute(functionDir, "unix:gid", identity.gid());
        Files.setPosixFilePermissions(functionDir, java.nio.file.attribute.PosixFilePermissions.fromString(
                "rwxr-x---"));
    }

    /**
     * The class-data archive of a function version, stored with the version. Its directory is also named after the
     * JDK and the runtime classpath it was made with: a JVM handed an archive of other jars may refuse to start,
     * so an upgrade simply starts a new one.
     */
    public Path archive(FunctionVersion v) {
        return settings.dataDir().resolve("archives").resolve(v.function())
                .resolve(v.version() + "-" + v.sha256().substring(0, 12)).resolve(runtimeKey).resolve("app.jsa");
    }

    /** Deletes the version's archive; true when there was one. */
    boolean discardArchive(FunctionVersion v) {
        try {
            return settings.archives() && Files.deleteIfExists(archive(v));
        } catch (IOException e) {
            return false;
        }
    }

    /** Names the JDK and the child classpath: their paths, sizes and modification times. */
    private static String runtimeKey(String javaCommand, String classpath) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            List<Path> files = new ArrayList<>();
            files.add(Path.of(javaCommand).toRealPath());
            for (String entry : classpath.split(":")) {
                if (entry.endsWith("/*")) {
                    try (var jars = Files.list(Path.of(entry.substring(0, entry.length() - 2)))) {
                        jars.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(files::add);
                    }
                } else if (!entry.isBlank()) {
                    files.add(Path.of(entry));
                }
            }
            for (Path f : files) {
                String fact = f + ":" + (Files.exists(f) ? Files.size(f) + ":" + Files.getLastModifiedTime(f)
                        .toMillis() : "missing") + "\n";
                d.update(fact.getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(d.digest()).substring(0, 12);
        } catch (IOException | NoSuchAlgorithmException e) {
            return "unknown";
        }
    }

    /** The first bytes of a dynamic class-data archive (magic 0xf00baba8, little-endian). */
    private static final byte[] ARCHIVE_MAGIC = {(byte) 0xa8, (byte) 0xab, 0x0b, (byte) 0xf0};

    /** Whether the version has a class-data archive (a file that starts as one does). */
    public boolean hasArchive(FunctionVersion v) {
        return isArchive(archive(v));
    }

    private static boolean isArchive(Path archive) {
        byte[] head = new byte[ARCHIVE_MAGIC.length];
        try (var in = Files.newInputStream(archive)) {
            return in.readNBytes(head, 0, head.length) == head.length && java.util.Arrays.equals(head, ARCHIVE_MAGIC);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Where a training run's archive is received: the version's archive, its directory made, whatever was there that
     * is not an archive deleted (a JVM handed it would take it for a base archive).
     */
    Path archiveTarget(FunctionVersion v) throws IOException {
        Path archive = archive(v);
        Files.createDirectories(archive.getParent());
        if (Files.exists(archive) && !isArchive(archive)) {
            Files.delete(archive);
            LOG.log(System.Logger.Level.WARNING, "archive.discarded file={0} reason=bad-magic", archive);
        }
        return archive;
    }
}
