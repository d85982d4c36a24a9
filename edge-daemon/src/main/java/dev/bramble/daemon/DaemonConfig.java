package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.bramble.daemon.agent.Agent;
import dev.bramble.daemon.async.AsyncQueue;
import dev.bramble.daemon.config.Defaults;
import dev.bramble.daemon.config.Option;
import dev.bramble.daemon.config.Options;
import dev.bramble.daemon.env.Environments;
import dev.bramble.daemon.env.Launcher;
import dev.bramble.daemon.function.FunctionRegistry;
import dev.bramble.daemon.http.HttpApi;
import dev.bramble.daemon.invoke.Invoker;
import dev.bramble.daemon.logs.LogStore;
import dev.bramble.daemon.profile.DeviceFacts;
import dev.bramble.daemon.profile.DeviceProfile;
import dev.bramble.daemon.profile.DeviceProfiles;
import dev.bramble.daemon.trigger.CoapListener;
import dev.bramble.daemon.trigger.MqttBridge;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * brambled's configuration, immutable and validated once at start-up. Every option is defined once, with its key,
 * default, bounds, unit and documentation, by the feature that reads it (an {@link Option} constant: {@code
 * HttpApi.PORT}, {@code Environments.IDLE_TTL}…); {@link #OPTIONS} lists them for {@code brambled --help-config} and
 * the table in docs/operators.md, which a test keeps in step.
 *
 * @param dataDir                  where state.db, bundles and unpacked functions live
 * @param httpBind                 the address the HTTP listener binds
 * @param httpPort                 the HTTP port; 0 picks a free one
 * @param javaCommand              the {@code java} that runs child JVMs
 * @param runtimeClasspath         the child JVM's classpath: the runtime, Jackson, aws-lambda-java-core
 * @param jvmOptions               options for every child JVM, before the per-function heap size
 * @param classDataArchives        keep a class-data archive per function version
 * @param maxEnvironmentsPerFunction default cap of environments per function
 * @param idleTtlSeconds           an idle environment older than this is stopped
 * @param queueTimeoutMs           how long a request waits for a free environment before a 429
 * @param initTimeoutSeconds       how long a child may take to load its handler
 * @param queueLength              requests that may wait for an environment at once
 * @param memoryBudgetMb           sum of the memory limits of all environments, MB
 * @param logRetainLines           log lines kept per function; the oldest go first
 * @param logMaxLineBytes          longer log lines are cut to this
 * @param bundleMaxBytes           largest bundle accepted by a deployment
 * @param region                   the region name functions see in {@code AWS_REGION} and ARNs
 * @param accountId                the account id in ARNs
 * @param adminToken               the bearer token of every admin route; empty: one is generated into
 *                                 {@code <data-dir>/admin.token} (0600) at the first start
 * @param sandbox                  how functions are contained
 * @param async                    the durable queue of asynchronous invocations
 * @param mqtt                     the MQTT connection triggers use
 * @param coap                     the CoAP listener
 * @param device                   the device profile and the facts it was chosen by
 * @param maxEnvironments          environments running at once, all functions together
 * @param defaultMemoryMb          a function's memory when its manifest sets none
 * @param defaultTmpMb             a function's /tmp when its manifest sets none
 * @param daemonHeapMb             the daemon's own heap, applied by the launcher from the next start
 * @param agent                    the deployment agent; off without a deployer URL
 * @param allowUnsigned            local deployments may be unsigned (development only)
 * @param sync                     telemetry to the deployer: the outbox and the uploader
 * @param httpIdleTimeoutSeconds   how long a kept-alive HTTP connection may go without a next request before the
 *                                 daemon closes it
 */
public record DaemonConfig(Path dataDir, String httpBind, int httpPort, String javaCommand, String runtimeClasspath,
                           List<String> jvmOptions, boolean classDataArchives, int maxEnvironmentsPerFunction,
                           int idleTtlSeconds, int queueTimeoutMs,
                           int initTimeoutSeconds, int queueLength, long memoryBudgetMb, int logRetainLines,
                           int logMaxLineBytes, long bundleMaxBytes,
                           String region, String accountId, String adminToken, Sandboxing sandbox,
                           Async async, MqttBridge.Settings mqtt, CoapListener.Settings coap, DeviceProfiles.Choice device,
                           int maxEnvironments, int defaultMemoryMb, int defaultTmpMb, int daemonHeapMb,
                           AgentSettings agent, boolean allowUnsigned, Sync sync, int httpIdleTimeoutSeconds) {

    /**
     * Containment settings.
     *
     * @param requireIsolation refuse to start unless cgroups, a private /tmp and separate identities all work
     * @param cgroupRoot       the cgroupfs mount
     * @param cgroupName       the daemon's subtree under each v1 controller
     * @param bwrap            bubblewrap
     * @param setpriv          setpriv
     * @param nft              nft, for keeping functions off the daemon's own listeners
     * @param uidBase          first uid given to functions
     * @param uidCount         how many uids functions may get
     * @param mbPerCpu         memory that earns one core when a function does not set {@code cpus}
     * @param pidsMax          processes and threads per environment
     */
    public record Sandboxing(boolean requireIsolation, Path cgroupRoot, String cgroupName, Path bwrap, Path setpriv,
                             Path nft, int uidBase, int uidCount, int mbPerCpu, int pidsMax) {
        public static final Option<Boolean> REQUIRE_ISOLATION = Option.flag("sandbox.require-isolation", false,
                "refuse to start unless cgroups, the freezer, a private /tmp, separate identities and the network "
                        + "rules all work");
        public static final Option.Text CGROUP_ROOT = Option.text("sandbox.cgroup-root", "/sys/fs/cgroup",
                "a directory", "where cgroupfs is mounted (v1 or v2)");
        public static final Option.Text CGROUP_NAME = Option.text("sandbox.cgroup-name", "bramble", "a directory name",
                "cgroup v1: the daemon's subtree under each controller (v2 uses its own delegated cgroup); one daemon "
                        + "per name on a host, a second is refused").matching("[A-Za-z0-9_.-]+");
        public static final Option.Text BWRAP = Option.text("sandbox.bwrap", "/usr/bin/bwrap", "an executable",
                "bubblewrap, for the private /tmp");
        public static final Option.Text SETPRIV = Option.text("sandbox.setpriv", "/usr/bin/setpriv", "an executable",
                "setpriv, for function identities");
        public static final Option.Text NFT = Option.text("sandbox.nft", "/usr/sbin/nft", "an executable",
                "nft (nftables), for the rules that keep functions off the daemon's own ports");
        public static final Option<Integer> UID_BASE = Option.integer("sandbox.uid-base", 61_000, 1000,
                2_000_000_000, "", "first uid (and gid) given to a function");
        public static final Option<Integer> UID_COUNT = Option.integer("sandbox.uid-count", 1_000, 1, 1_000_000, "",
                "how many uids functions may be given");
    }

    /**
     * The asynchronous queue.
     *
     * @param maxDepth    invocations it holds at most; more are refused (429, or an MQTT message waits)
     * @param workers     invocations it runs at once
     * @param retryBaseMs delay before the first retry; it doubles for the second
     */
    public record Async(int maxDepth, int workers, int retryBaseMs) {
    }

    /**
     * The deployment agent.
     *
     * @param deployerUrl     the deployer; empty leaves the agent off
     * @param enrolmentToken  used once to enrol, when the device has no identity yet
     * @param deviceName      the name the device enrols under
     * @param trustedKeys     the directory of trusted signers' public keys
     * @param keepVersions    versions kept per function for instant rollback
     * @param pollWaitSeconds how long a desired-state request waits for a change
     * @param caFile          PEM certificates the deployer's TLS certificate must chain to; empty: the JDK's
     * @param insecureHttp    allow plain HTTP to a deployer that is not on loopback
     */
    public record AgentSettings(String deployerUrl, String enrolmentToken, String deviceName, Path trustedKeys,
                                int keepVersions, int pollWaitSeconds, String caFile, boolean insecureHttp) {
    }

    /**
     * Telemetry: log lines and metric snapshots through the outbox to the deployer.
     *
     * @param enabled                 on when the agent has a deployer; off keeps nothing
     * @param outboxMaxMb             the outbox's disk cap; the oldest entries are dropped beyond it
     * @param batchMaxEntries         entries per upload at most
     * @param batchMaxKb              uncompressed kilobytes per upload at most
     * @param batchMaxAgeMs           an upload leaves once its oldest entry waited this long
     * @param backoffMinMs            first wait after a failed upload; doubles per failure
     * @param backoffMaxMs            longest wait between attempts
     * @param bandwidthBytesPerSecond compressed bytes per second at most, 0 for no cap
     * @param metricsIntervalSeconds  how often a metrics snapshot is stored, 0 for never
     */
    public record Sync(boolean enabled, int outboxMaxMb, int batchMaxEntries, int batchMaxKb, int batchMaxAgeMs,
                       int backoffMinMs, int backoffMaxMs, long bandwidthBytesPerSecond, int metricsIntervalSeconds) {
        public static final Option<Boolean> ENABLED = Option.flag("sync.enabled", true,
                "send function logs and metric snapshots to agent.deployer-url through the outbox");
        public static final Option<Integer> OUTBOX_MAX = Option.integer("sync.outbox-max-mb", 64, 1, 65_536, "MB",
                "disk cap of the telemetry outbox; the oldest entries are dropped beyond it, with a gap record "
                        + "(default: the device profile's)");
        public static final Option<Integer> BATCH_MAX_ENTRIES = Option.integer("sync.batch-max-entries", 2_000, 1,
                20_000, "", "log lines and snapshots per upload at most");
        public static final Option<Integer> BATCH_MAX_KB = Option.integer("sync.batch-max-kb", 512, 1, 16_384, "KB",
                "uncompressed kilobytes per upload at most");
        public static final Option<Integer> BATCH_MAX_AGE = Option.integer("sync.batch-max-age-ms", 2_000, 0,
                3_600_000, "ms", "an upload leaves once its oldest entry has waited this long, full or not");
        public static final Option<Integer> BACKOFF_MIN = Option.integer("sync.backoff-min-ms", 1_000, 10, 600_000,
                "ms", "first wait after a failed upload; doubles");
        public static final Option<Integer> BACKOFF_MAX = Option.integer("sync.backoff-max-ms", 60_000, 10,
                86_400_000, "ms", "longest wait between upload attempts (half of it random jitter)");
        public static final Option<Long> BANDWIDTH = Option.longInteger("sync.bandwidth-bytes-per-second", 0L, 0,
                1_000_000_000, "bytes/s", "compressed upload bytes per second at most; 0 for no cap");
        public static final Option<Integer> METRICS_INTERVAL = Option.integer("sync.metrics-interval-seconds", 60, 0,
                86_400, "s", "how often a metrics snapshot goes into the outbox; 0 for never");
    }

    public static final Option.Text PROFILE = Option.text("profile", "auto",
            "auto or a profile id (brambled --print-profile lists them)",
            "the device profile whose values are the defaults below; auto detects the board");
    public static final Option.Text DATA_DIR = Option.text("data-dir", Defaults::dataDir,
            "$XDG_STATE_HOME/bramble, else ~/.local/state/bramble", "a writable directory",
            "state.db, bundles/ and functions/ live here");
    public static final Option<Integer> DAEMON_HEAP = Option.integer("daemon.heap-mb", 64, 16, 4096, "MB",
            "the daemon's own heap (default: the device profile's); the launcher applies it from the next start");

    /** Every option brambled knows, in the order {@code --help-config} prints them. */
    static final List<Option<?>> OPTIONS = List.of(PROFILE, DATA_DIR, HttpApi.BIND, HttpApi.PORT,
            HttpApi.IDLE_TIMEOUT, Launcher.JAVA, Launcher.CLASSPATH, Launcher.JVM_OPTIONS, Launcher.CLASS_DATA_ARCHIVES,
            Environments.MAX_ENVIRONMENTS, Environments.MAX_PER_FUNCTION, Environments.IDLE_TTL,
            Environments.QUEUE_TIMEOUT, Environments.INIT_TIMEOUT, Environments.QUEUE_LENGTH,
            Environments.MEMORY_BUDGET, FunctionRegistry.DEFAULT_MEMORY, FunctionRegistry.DEFAULT_TMP, DAEMON_HEAP,
            LogStore.RETAIN_LINES, LogStore.MAX_LINE_BYTES, FunctionRegistry.BUNDLE_MAX, Invoker.REGION,
            Invoker.ACCOUNT_ID, HttpApi.ADMIN_TOKEN, Sandboxing.REQUIRE_ISOLATION, Sandboxing.CGROUP_ROOT,
            Sandboxing.CGROUP_NAME, Sandboxing.BWRAP, Sandboxing.SETPRIV, Sandboxing.NFT, Sandboxing.UID_BASE,
            Sandboxing.UID_COUNT, Launcher.MB_PER_CPU, Launcher.PIDS_MAX, AsyncQueue.MAX_DEPTH, AsyncQueue.WORKERS,
            AsyncQueue.RETRY_BASE, MqttBridge.URL, MqttBridge.PROTOCOL, MqttBridge.CLIENT_ID, MqttBridge.USERNAME,
            MqttBridge.PASSWORD, MqttBridge.TLS_CA, MqttBridge.TLS_CERT, MqttBridge.TLS_KEY, MqttBridge.SESSION_EXPIRY,
            MqttBridge.MAX_PAYLOAD, MqttBridge.RECONNECT_MIN, MqttBridge.RECONNECT_MAX, FunctionRegistry.ALLOW_UNSIGNED,
            Agent.DEPLOYER_URL, Agent.ENROLMENT_TOKEN, Agent.DEVICE_NAME, Agent.TRUSTED_KEYS, Agent.KEEP_VERSIONS,
            Agent.POLL_WAIT, Agent.CA_FILE, Agent.INSECURE_HTTP, Sync.ENABLED, Sync.OUTBOX_MAX,
            Sync.BATCH_MAX_ENTRIES, Sync.BATCH_MAX_KB, Sync.BATCH_MAX_AGE, Sync.BACKOFF_MIN, Sync.BACKOFF_MAX,
            Sync.BANDWIDTH, Sync.METRICS_INTERVAL, CoapListener.BIND, CoapListener.PORT, CoapListener.MAX_PAYLOAD);

    /** The embedded defaults. */
    public static DaemonConfig defaults() {
        return parse(MissingNode.getInstance(), "embedded defaults");
    }

    /** Loads and validates a YAML file. */
    public static DaemonConfig load(Path file) {
        JsonNode root;
        try {
            // A key given twice is a mistake to name, not a choice of the last one to make in silence.
            root = new ObjectMapper(new YAMLFactory()).enable(
                    com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION).readTree(
                    Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of("cannot read it as YAML: " + e.getMessage()));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return parse(MissingNode.getInstance(), file.toString());
        }
        if (!root.isObject()) {
            throw new ConfigException(file.toString(), List.of("the top level must be a mapping of keys"));
        }
        return parse(root, file.toString());
    }

    /** Parses a configuration tree, listing every problem at once. */
    static DaemonConfig parse(JsonNode root, String source) {
        return parse(root, source, DeviceFacts.detect());
    }

    /** Parses with the device facts given: the profile chosen by them supplies the defaults it covers. */
    static DaemonConfig parse(JsonNode root, String source, DeviceFacts facts) {
        Options r = new Options(root, OPTIONS);
        String forced = r.get(PROFILE);
        DeviceProfiles.Choice device;
        try {
            device = DeviceProfiles.choose(facts, forced.equals("auto") ? Optional.empty() : Optional.of(forced));
        } catch (IllegalArgumentException e) {
            r.problem(e.getMessage());
            device = DeviceProfiles.choose(facts, Optional.empty());
        }
        DeviceProfile p = device.profile();
        r.override(Environments.MEMORY_BUDGET, p.memoryBudgetMb());
        r.override(Environments.MAX_ENVIRONMENTS, p.maxEnvironments());
        r.override(Environments.IDLE_TTL, p.idleTtlSeconds());
        r.override(FunctionRegistry.DEFAULT_MEMORY, p.defaultMemoryMb());
        r.override(FunctionRegistry.DEFAULT_TMP, p.defaultTmpMb());
        r.override(DAEMON_HEAP, p.daemonHeapMb());
        r.override(Sync.OUTBOX_MAX, p.outboxMb());
        if (!p.childJvmOptions().isEmpty()) {
            r.override(Launcher.JVM_OPTIONS, p.childJvmOptions());
        }
        DaemonConfig config = new DaemonConfig(
                Path.of(r.get(DATA_DIR)).toAbsolutePath(),
                r.get(HttpApi.BIND),
                r.get(HttpApi.PORT),
                r.get(Launcher.JAVA),
                r.get(Launcher.CLASSPATH),
                r.get(Launcher.JVM_OPTIONS),
                r.get(Launcher.CLASS_DATA_ARCHIVES),
                r.get(Environments.MAX_PER_FUNCTION),
                r.get(Environments.IDLE_TTL),
                r.get(Environments.QUEUE_TIMEOUT),
                r.get(Environments.INIT_TIMEOUT),
                r.get(Environments.QUEUE_LENGTH),
                budget(r.get(Environments.MEMORY_BUDGET)),
                r.get(LogStore.RETAIN_LINES),
                r.get(LogStore.MAX_LINE_BYTES),
                r.get(FunctionRegistry.BUNDLE_MAX),
                r.get(Invoker.REGION),
                r.get(Invoker.ACCOUNT_ID),
                r.get(HttpApi.ADMIN_TOKEN),
                new Sandboxing(r.get(Sandboxing.REQUIRE_ISOLATION), Path.of(r.get(Sandboxing.CGROUP_ROOT)),
                        r.get(Sandboxing.CGROUP_NAME), Path.of(r.get(Sandboxing.BWRAP)),
                        Path.of(r.get(Sandboxing.SETPRIV)), Path.of(r.get(Sandboxing.NFT)),
                        r.get(Sandboxing.UID_BASE), r.get(Sandboxing.UID_COUNT), r.get(Launcher.MB_PER_CPU),
                        r.get(Launcher.PIDS_MAX)),
                new Async(r.get(AsyncQueue.MAX_DEPTH), r.get(AsyncQueue.WORKERS), r.get(AsyncQueue.RETRY_BASE)),
                new MqttBridge.Settings(r.get(MqttBridge.URL), r.get(MqttBridge.PROTOCOL), r.get(MqttBridge.CLIENT_ID),
                        r.get(MqttBridge.USERNAME), r.get(MqttBridge.PASSWORD), r.get(MqttBridge.TLS_CA),
                        r.get(MqttBridge.TLS_CERT), r.get(MqttBridge.TLS_KEY), r.get(MqttBridge.SESSION_EXPIRY),
                        r.get(MqttBridge.MAX_PAYLOAD), r.get(MqttBridge.RECONNECT_MIN),
                        r.get(MqttBridge.RECONNECT_MAX)),
                new CoapListener.Settings(r.get(CoapListener.BIND), r.get(CoapListener.PORT),
                        r.get(CoapListener.MAX_PAYLOAD)),
                device,
                r.get(Environments.MAX_ENVIRONMENTS),
                r.get(FunctionRegistry.DEFAULT_MEMORY),
                r.get(FunctionRegistry.DEFAULT_TMP),
                r.get(DAEMON_HEAP),
                new AgentSettings(r.get(Agent.DEPLOYER_URL), r.get(Agent.ENROLMENT_TOKEN), r.get(Agent.DEVICE_NAME),
                        Path.of(r.get(Agent.TRUSTED_KEYS)), r.get(Agent.KEEP_VERSIONS), r.get(Agent.POLL_WAIT),
                        r.get(Agent.CA_FILE), r.get(Agent.INSECURE_HTTP)),
                r.get(FunctionRegistry.ALLOW_UNSIGNED),
                new Sync(r.get(Sync.ENABLED), r.get(Sync.OUTBOX_MAX), r.get(Sync.BATCH_MAX_ENTRIES),
                        r.get(Sync.BATCH_MAX_KB), r.get(Sync.BATCH_MAX_AGE), r.get(Sync.BACKOFF_MIN),
                        r.get(Sync.BACKOFF_MAX), r.get(Sync.BANDWIDTH), r.get(Sync.METRICS_INTERVAL)),
                r.get(HttpApi.IDLE_TIMEOUT));
        String insecure = insecureDeployer(config.agent());
        if (insecure != null) {
            r.problem(insecure);
        }
        if (config.sync().backoffMinMs() > config.sync().backoffMaxMs()) {
            r.problem("sync.backoff-min-ms (" + config.sync().backoffMinMs() + ") must not be above "
                    + "sync.backoff-max-ms (" + config.sync().backoffMaxMs() + ")");
        }
        if (Files.exists(config.dataDir()) && !Files.isDirectory(config.dataDir())) {
            r.problem("data-dir: '" + config.dataDir() + "' is not a directory; a writable directory is "
                    + "allowed (it is created when missing)");
        }
        String javaProblem = javaProblem(Path.of(config.javaCommand()));
        if (javaProblem != null) {
            r.problem("runtime.java: '" + config.javaCommand() + "' " + javaProblem);
        }
        r.unknownKeys();
        if (!r.problems().isEmpty()) {
            throw new ConfigException(source, r.problems());
        }
        return config;
    }

    /**
     * Why a java cannot run functions, or null: it must be an executable file, and a JDK's {@code release} file
     * beside it, when there is one, must say 21 or later.
     */
    static String javaProblem(Path command) {
        Path resolved = command;
        if (command.getParent() == null) { // a bare name is looked up on PATH, as the process launch would
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
                if (Files.isExecutable(Path.of(dir).resolve(command))) {
                    resolved = Path.of(dir).resolve(command);
                    break;
                }
            }
        }
        if (!Files.isRegularFile(resolved) || !Files.isExecutable(resolved)) {
            return "is not an executable file; the java of a JDK >= 21 is allowed";
        }
        try {
            Path release = resolved.toRealPath().getParent().getParent().resolve("release");
            if (Files.isRegularFile(release)) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^JAVA_VERSION=\"(\\d+)")
                        .matcher(Files.readString(release));
                if (m.find() && Integer.parseInt(m.group(1)) < 21) {
                    return "is JDK " + m.group(1) + "; functions need JDK 21 or later";
                }
            }
        } catch (IOException | RuntimeException e) {
            return null; // no release file to read: the first start of a function says what is wrong
        }
        return null;
    }

    /** A copy with another data directory and port; tests and the demo use it. */
    public DaemonConfig with(Path dataDir, int port) {
        return new DaemonConfig(dataDir, httpBind, port, javaCommand, runtimeClasspath, jvmOptions, classDataArchives,
                maxEnvironmentsPerFunction,
                idleTtlSeconds, queueTimeoutMs, initTimeoutSeconds, queueLength, memoryBudgetMb, logRetainLines,
                logMaxLineBytes, bundleMaxBytes,
                region, accountId, adminToken, sandbox, async, mqtt, coap, device, maxEnvironments,
                defaultMemoryMb, defaultTmpMb, daemonHeapMb, agent, allowUnsigned, sync, httpIdleTimeoutSeconds);
    }

    /** The help text for every option. */
    static String help() {
        return Options.help("brambled configuration (YAML; dotted keys are nested mappings):", OPTIONS);
    }

    /** The options as the Markdown table in docs/operators.md. */
    static String markdown() {
        return Options.markdown(OPTIONS);
    }

    /** 0 means 60 % of the device's physical memory. */
    private static long budget(long configured) {
        if (configured > 0) {
            return configured;
        }
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean();
        return Math.max(64, os.getTotalMemorySize() / (1 << 20) * 60 / 100);
    }

    /** Why this deployer URL may not be followed as configured, or null: plain HTTP off loopback needs a yes. */
    static String insecureDeployer(AgentSettings a) {
        if (!a.deployerUrl().startsWith("http://") || a.insecureHttp()) {
            return null;
        }
        String host;
        try {
            host = java.net.URI.create(a.deployerUrl()).getHost();
        } catch (IllegalArgumentException e) {
            return null; // the URL's own check names it
        }
        if (host == null) {
            return null;
        }
        String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        if (h.equals("localhost") || h.startsWith("127.") || h.equals("::1")) {
            return null;
        }
        return "agent.deployer-url: '" + a.deployerUrl() + "' is plain HTTP to a host that is not this one: the "
                + "device token and bundles would travel in clear; use https:// (with agent.ca-file for a private CA), "
                + "or set agent.insecure-http: true to accept that";
    }
}
