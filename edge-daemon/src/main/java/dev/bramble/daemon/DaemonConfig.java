package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
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
 * brambled's configuration, immutable and validated once at start-up. Every option, with its key, default,
 * bounds and documentation, is one entry of {@link #OPTIONS}; {@code brambled --help-config} prints them.
 *
 * @param dataDir                  where state.db, bundles and unpacked functions live
 * @param httpBind                 the address the HTTP listener binds
 * @param httpPort                 the HTTP port; 0 picks a free one
 * @param javaCommand              the {@code java} that runs child JVMs
 * @param runtimeClasspath         the child JVM's classpath: the runtime, Jackson, aws-lambda-java-core
 * @param jvmOptions               options for every child JVM, before the per-function heap size
 * @param classDataArchives        keep a class-data archive per function version
 * @param maxEnvironments          default cap of environments per function
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
 * @param maxEnvironmentsTotal     environments running at once, all functions together
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
                           List<String> jvmOptions, boolean classDataArchives, int maxEnvironments, int idleTtlSeconds, int queueTimeoutMs,
                           int initTimeoutSeconds, int queueLength, long memoryBudgetMb, int logRetainLines,
                           int logMaxLineBytes, long bundleMaxBytes,
                           String region, String accountId, String adminToken, Sandboxing sandbox,
                           Async async, MqttBridge.Settings mqtt, CoapListener.Settings coap, DeviceProfiles.Choice device,
                           int maxEnvironmentsTotal, int defaultMemoryMb, int defaultTmpMb, int daemonHeapMb,
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
    }

    /** Child JVM flags for short-lived, small heaps: C1 only, Serial GC, small stacks, no perf data file. */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-Xss512k", "-XX:ReservedCodeCacheSize=16m", "-XX:-UsePerfData", "-Xshare:auto");

    /** One configuration option. */
    record Option(String key, Object defaultValue, String bounds, String doc) {
    }

    /** Every option brambled knows, in the order {@code --help-config} prints them. */
    static final List<Option> OPTIONS = List.of(
            new Option("profile", "auto", "auto or a profile id (brambled --print-profile lists them)",
                    "the device profile whose values are the defaults below; auto detects the board"),
            new Option("data-dir", defaultDataDir().toString(), "a writable directory",
                    "state.db, bundles/ and functions/ live here"),
            new Option("http.bind", "127.0.0.1", "an IP address or host name",
                    "address of the HTTP listener (Invoke API, Function URLs, status, local deploy)"),
            new Option("http.port", 9000, "0..65535", "HTTP port; 0 picks a free one"),
            new Option("http.idle-timeout-seconds", 30, "1..3600",
                    "a connection is closed that sends no next request this long, or takes longer for its request "
                            + "line and headers"),
            new Option("runtime.java", defaultJava(), "an executable", "the java that runs child JVMs (JDK >= 21)"),
            new Option("runtime.classpath", defaultRuntimeClasspath(), "a java -cp value",
                    "the child JVM's classpath: lib/runtime/* of the installation"),
            new Option("runtime.jvm-options", DEFAULT_JVM_OPTIONS, "a list of strings",
                    "options for every child JVM; the heap is sized from the function's memory"),
            new Option("runtime.class-data-archives", true, "true or false",
                    "keep a class-data archive (AppCDS) per function version: faster cold starts"),
            new Option("pool.max-environments", 64, "1..10000",
                    "environments running at once, all functions together (default: the device profile's)"),
            new Option("pool.max-environments-per-function", 4, "1..1000",
                    "default cap of environments per function; concurrency.reserved in function.json overrides it"),
            new Option("pool.idle-ttl-seconds", 600, "1..86400", "an environment idle this long is stopped"),
            new Option("pool.queue-timeout-ms", 10_000, "0..900000",
                    "how long a request waits for a free environment before 429 TooManyRequestsException"),
            new Option("pool.init-timeout-seconds", 10, "1..300", "how long a child JVM may take to load its handler"),
            new Option("pool.queue-length", 32, "0..10000", "requests that may wait for an environment at once"),
            new Option("pool.memory-budget-mb", 0, "0..1048576",
                    "sum of the memory limits of all environments; 0 means 60 % of the device's memory"),
            new Option("functions.default-memory-mb", 128, "32..10240",
                    "a function's memory when function.json sets none (default: the device profile's)"),
            new Option("functions.default-tmp-mb", 32, "1..10240",
                    "a function's /tmp when function.json sets none (default: the device profile's)"),
            new Option("daemon.heap-mb", 64, "16..4096",
                    "the daemon's own heap (default: the device profile's); the launcher applies it from the next "
                            + "start"),
            new Option("logs.retain-lines-per-function", 10_000, "100..10000000",
                    "log lines kept per function; the oldest are deleted first"),
            new Option("logs.max-line-bytes", 8_192, "256..262144", "longer log lines are cut, with a marker"),
            new Option("bundles.max-bytes", 64L << 20, "1024..4294967296", "largest bundle zip a deployment accepts"),
            new Option("aws.region", "local", "a region name", "AWS_REGION for functions, and the region in ARNs"),
            new Option("aws.account-id", "000000000000", "12 digits", "the account id in ARNs"),
            new Option("admin.token", "", "a string of at least 16 characters, or empty",
                    "bearer token every /v1 route but health and GET /metrics need, from any address; empty: one "
                            + "is generated into <data-dir>/admin.token (0600, root only)"),
            new Option("sandbox.require-isolation", false, "true or false",
                    "refuse to start unless cgroups, the freezer, a private /tmp, separate identities and the "
                            + "network rules all work"),
            new Option("sandbox.cgroup-root", "/sys/fs/cgroup", "a directory", "where cgroupfs is mounted (v1 or v2)"),
            new Option("sandbox.cgroup-name", "bramble", "a directory name",
                    "cgroup v1: the daemon's subtree under each controller (v2 uses its own delegated cgroup); "
                            + "one daemon per name on a host, a second is refused"),
            new Option("sandbox.bwrap", "/usr/bin/bwrap", "an executable", "bubblewrap, for the private /tmp"),
            new Option("sandbox.setpriv", "/usr/bin/setpriv", "an executable", "setpriv, for function identities"),
            new Option("sandbox.nft", "/usr/sbin/nft", "an executable",
                    "nft (nftables), for the rules that keep functions off the daemon's own ports"),
            new Option("sandbox.uid-base", 61_000, "1000..2000000000", "first uid (and gid) given to a function"),
            new Option("sandbox.uid-count", 1_000, "1..1000000", "how many uids functions may be given"),
            new Option("sandbox.mb-per-cpu", 128, "16..65536",
                    "memory that earns one core when function.json sets no cpus (capped by the device's cores)"),
            new Option("sandbox.pids-max", 256, "16..65536", "processes and threads per environment"),
            new Option("async.max-depth", 10_000, "1..1000000",
                    "asynchronous invocations queued at most; beyond it Event invokes get 429 and MQTT waits"),
            new Option("async.workers", 8, "1..256", "asynchronous invocations run at once"),
            new Option("async.retry-base-ms", 60_000, "10..3600000",
                    "wait before the first retry of a failed asynchronous invocation; doubled for the second"),
            new Option("mqtt.url", "", "tcp://host:port, ssl://host:port, or empty",
                    "the broker MQTT triggers subscribe through; empty lists them as inactive"),
            new Option("mqtt.protocol", "5", "5 or 3.1.1", "MQTT protocol version"),
            new Option("mqtt.client-id", "bramble-" + hostName(), "1 to 64 letters, digits, '-', '_' or '.'",
                    "client id; keep it stable so the broker keeps the session across restarts"),
            new Option("mqtt.username", "", "a string", "user name, or empty"),
            new Option("mqtt.password", "", "a string", "password, or empty"),
            new Option("mqtt.tls.ca-file", "", "a PEM file, or empty", "certificates to trust; empty: the JDK's"),
            new Option("mqtt.tls.cert-file", "", "a PEM file, or empty", "client certificate for mutual TLS"),
            new Option("mqtt.tls.key-file", "", "a PEM PKCS#8 file, or empty", "the client certificate's key"),
            new Option("mqtt.session-expiry-seconds", 604_800L, "0..4294967295",
                    "how long the broker keeps the session and its queued QoS 1 messages while the daemon is away"),
            new Option("mqtt.max-payload-bytes", 262_144, "1..786432",
                    "larger messages are acknowledged, rejected and counted as dropped"),
            new Option("mqtt.reconnect-min-ms", 500, "10..600000", "first reconnection delay; doubles to the max"),
            new Option("mqtt.reconnect-max-ms", 30_000, "10..3600000", "longest reconnection delay (plus jitter)"),
            new Option("security.allow-unsigned", false, "true or false",
                    "accept unsigned bundles on POST /v1/deployments (development); signed by agent.trusted-keys "
                            + "otherwise"),
            new Option("agent.deployer-url", "", "http(s)://host:port, or empty",
                    "the deployer this device follows; empty leaves the deployment agent off"),
            new Option("agent.enrolment-token", "", "a token from the deployer, or empty",
                    "enrols the device at its first contact; id and device token are then kept in state.db"),
            new Option("agent.device-name", hostName(), "1 to 64 letters, digits, '-', '_' or '.'",
                    "the name the device enrols under"),
            new Option("agent.trusted-keys", "/etc/bramble/trusted-keys", "a directory",
                    "public keys (*.pub, PEM) whose signatures the agent accepts"),
            new Option("agent.keep-versions", 3, "1..100", "versions kept per function for instant rollback"),
            new Option("agent.poll-wait-seconds", 25, "1..300", "how long a desired-state request waits for a change"),
            new Option("agent.ca-file", "", "a readable PEM file, or empty",
                    "CA certificates (or the deployer's own, pinned) its https certificate must chain to; empty: "
                            + "the JDK's trusted CAs"),
            new Option("agent.insecure-http", false, "true or false",
                    "allow plain http:// to a deployer that is not on loopback (tokens and bundles travel in clear)"),
            new Option("sync.enabled", true, "true or false",
                    "send function logs and metric snapshots to agent.deployer-url through the outbox"),
            new Option("sync.outbox-max-mb", 64, "1..65536",
                    "disk cap of the telemetry outbox; the oldest entries are dropped beyond it, with a gap record "
                            + "(default: the device profile's)"),
            new Option("sync.batch-max-entries", 2_000, "1..20000", "log lines and snapshots per upload at most"),
            new Option("sync.batch-max-kb", 512, "1..16384", "uncompressed kilobytes per upload at most"),
            new Option("sync.batch-max-age-ms", 2_000, "0..3600000",
                    "an upload leaves once its oldest entry has waited this long, full or not"),
            new Option("sync.backoff-min-ms", 1_000, "10..600000", "first wait after a failed upload; doubles"),
            new Option("sync.backoff-max-ms", 60_000, "10..86400000",
                    "longest wait between upload attempts (half of it random jitter)"),
            new Option("sync.bandwidth-bytes-per-second", 0L, "0..1000000000",
                    "compressed upload bytes per second at most; 0 for no cap"),
            new Option("sync.metrics-interval-seconds", 60, "0..86400",
                    "how often a metrics snapshot goes into the outbox; 0 for never"),
            new Option("coap.bind", "0.0.0.0", "an IP address or host name", "address of the CoAP listener"),
            new Option("coap.port", -1, "-1..65535", "CoAP UDP port (5683 is the standard); -1 leaves CoAP off"),
            new Option("coap.max-payload-bytes", 1_048_576, "64..6291456",
                    "largest CoAP request body, reassembled from blocks; larger gets 4.13"));

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
        Reader r = new Reader(root);
        String forced = r.string("profile");
        DeviceProfiles.Choice device;
        try {
            device = DeviceProfiles.choose(facts, forced.equals("auto") ? Optional.empty() : Optional.of(forced));
        } catch (IllegalArgumentException e) {
            r.problems.add(e.getMessage());
            device = DeviceProfiles.choose(facts, Optional.empty());
        }
        DeviceProfile p = device.profile();
        r.profileDefault("pool.memory-budget-mb", p.memoryBudgetMb());
        r.profileDefault("pool.max-environments", p.maxEnvironments());
        r.profileDefault("pool.idle-ttl-seconds", p.idleTtlSeconds());
        r.profileDefault("functions.default-memory-mb", p.defaultMemoryMb());
        r.profileDefault("functions.default-tmp-mb", p.defaultTmpMb());
        r.profileDefault("daemon.heap-mb", p.daemonHeapMb());
        r.profileDefault("sync.outbox-max-mb", p.outboxMb());
        if (!p.childJvmOptions().isEmpty()) {
            r.profileDefault("runtime.jvm-options", p.childJvmOptions());
        }
        DaemonConfig config = new DaemonConfig(
                Path.of(r.string("data-dir")).toAbsolutePath(),
                r.host("http.bind"),
                r.integer("http.port", 0, 65_535),
                r.string("runtime.java"),
                r.string("runtime.classpath"),
                r.strings("runtime.jvm-options"),
                r.bool("runtime.class-data-archives"),
                r.integer("pool.max-environments-per-function", 1, 1000),
                r.integer("pool.idle-ttl-seconds", 1, 86_400),
                r.integer("pool.queue-timeout-ms", 0, 900_000),
                r.integer("pool.init-timeout-seconds", 1, 300),
                r.integer("pool.queue-length", 0, 10_000),
                budget(r.longValue("pool.memory-budget-mb", 0, 1L << 20)),
                r.integer("logs.retain-lines-per-function", 100, 10_000_000),
                r.integer("logs.max-line-bytes", 256, 262_144),
                r.longValue("bundles.max-bytes", 1024, 4L << 30),
                r.string("aws.region"),
                r.matching("aws.account-id", "[0-9]{12}"),
                r.token("admin.token"),
                new Sandboxing(r.bool("sandbox.require-isolation"), Path.of(r.string("sandbox.cgroup-root")),
                        r.matching("sandbox.cgroup-name", "[A-Za-z0-9_.-]+"), Path.of(r.string("sandbox.bwrap")),
                        Path.of(r.string("sandbox.setpriv")), Path.of(r.string("sandbox.nft")),
                        r.integer("sandbox.uid-base", 1000, 2_000_000_000),
                        r.integer("sandbox.uid-count", 1, 1_000_000), r.integer("sandbox.mb-per-cpu", 16, 65_536),
                        r.integer("sandbox.pids-max", 16, 65_536)),
                new Async(r.integer("async.max-depth", 1, 1_000_000), r.integer("async.workers", 1, 256),
                        r.integer("async.retry-base-ms", 10, 3_600_000)),
                new MqttBridge.Settings(r.optionalMatching("mqtt.url", "(tcp|ssl)://[^/\\s]+:[0-9]{1,5}"),
                        r.matching("mqtt.protocol", "5|3\\.1\\.1"),
                        r.matching("mqtt.client-id", "[A-Za-z0-9_.-]{1,64}"), r.optionalString("mqtt.username"),
                        r.optionalString("mqtt.password"), r.optionalFile("mqtt.tls.ca-file"),
                        r.optionalFile("mqtt.tls.cert-file"), r.optionalFile("mqtt.tls.key-file"),
                        r.longValue("mqtt.session-expiry-seconds", 0, 4_294_967_295L),
                        r.integer("mqtt.max-payload-bytes", 1, 786_432),
                        r.integer("mqtt.reconnect-min-ms", 10, 600_000),
                        r.integer("mqtt.reconnect-max-ms", 10, 3_600_000)),
                new CoapListener.Settings(r.host("coap.bind"), r.integer("coap.port", -1, 65_535),
                        r.integer("coap.max-payload-bytes", 64, 6 << 20)),
                device,
                r.integer("pool.max-environments", 1, 10_000),
                r.integer("functions.default-memory-mb", 32, 10_240),
                r.integer("functions.default-tmp-mb", 1, 10_240),
                r.integer("daemon.heap-mb", 16, 4096),
                new AgentSettings(r.optionalMatching("agent.deployer-url", "https?://[^\\s/]+(/.*)?"),
                        r.optionalString("agent.enrolment-token"),
                        r.matching("agent.device-name", "[A-Za-z0-9_.-]{1,64}"),
                        Path.of(r.string("agent.trusted-keys")), r.integer("agent.keep-versions", 1, 100),
                        r.integer("agent.poll-wait-seconds", 1, 300), r.optionalFile("agent.ca-file"),
                        r.bool("agent.insecure-http")),
                r.bool("security.allow-unsigned"),
                new Sync(r.bool("sync.enabled"), r.integer("sync.outbox-max-mb", 1, 65_536),
                        r.integer("sync.batch-max-entries", 1, 20_000), r.integer("sync.batch-max-kb", 1, 16_384),
                        r.integer("sync.batch-max-age-ms", 0, 3_600_000),
                        r.integer("sync.backoff-min-ms", 10, 600_000), r.integer("sync.backoff-max-ms", 10, 86_400_000),
                        r.longValue("sync.bandwidth-bytes-per-second", 0, 1_000_000_000),
                        r.integer("sync.metrics-interval-seconds", 0, 86_400)),
                r.integer("http.idle-timeout-seconds", 1, 3600));
        String insecure = insecureDeployer(config.agent());
        if (insecure != null) {
            r.problems.add(insecure);
        }
        if (config.sync().backoffMinMs() > config.sync().backoffMaxMs()) {
            r.problems.add("sync.backoff-min-ms (" + config.sync().backoffMinMs() + ") must not be above "
                    + "sync.backoff-max-ms (" + config.sync().backoffMaxMs() + ")");
        }
        if (Files.exists(config.dataDir()) && !Files.isDirectory(config.dataDir())) {
            r.problems.add("data-dir: '" + config.dataDir() + "' is not a directory; a writable directory is "
                    + "allowed (it is created when missing)");
        }
        String javaProblem = javaProblem(Path.of(config.javaCommand()));
        if (javaProblem != null) {
            r.problems.add("runtime.java: '" + config.javaCommand() + "' " + javaProblem);
        }
        r.unknownKeys();
        if (!r.problems.isEmpty()) {
            throw new ConfigException(source, r.problems);
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
                maxEnvironments,
                idleTtlSeconds, queueTimeoutMs, initTimeoutSeconds, queueLength, memoryBudgetMb, logRetainLines,
                logMaxLineBytes, bundleMaxBytes,
                region, accountId, adminToken, sandbox, async, mqtt, coap, device, maxEnvironmentsTotal,
                defaultMemoryMb, defaultTmpMb, daemonHeapMb, agent, allowUnsigned, sync, httpIdleTimeoutSeconds);
    }

    /** The help text for every option. */
    static String help() {
        StringBuilder sb = new StringBuilder("brambled configuration (YAML; dotted keys are nested mappings):\n");
        for (Option o : OPTIONS) {
            sb.append(String.format("  %-36s default %s; allowed %s%n      %s%n", o.key(), o.defaultValue(),
                    o.bounds(), o.doc()));
        }
        return sb.toString();
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

    private static String hostName() {
        try {
            String h = InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9_.-]", "-");
            return h.length() > 55 ? h.substring(0, 55) : h;
        } catch (UnknownHostException e) {
            return "device";
        }
    }

    private static Path defaultDataDir() {
        String state = System.getenv("XDG_STATE_HOME");
        Path base = state == null || state.isBlank() ? Path.of(System.getProperty("user.home"), ".local", "state")
                : Path.of(state);
        return base.resolve("bramble");
    }

    private static String defaultJava() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String defaultRuntimeClasspath() {
        String home = System.getProperty("bramble.home");
        return home == null ? "lib/runtime/*" : Path.of(home, "lib", "runtime").resolve("*").toString();
    }

    /** Reads values by dotted key, falling back to the option's default, and collects problems. */
    private static final class Reader {
        private final JsonNode root;
        private final Map<String, Option> options = new java.util.LinkedHashMap<>();
        private final List<String> problems = new ArrayList<>();

        Reader(JsonNode root) {
            this.root = root;
            OPTIONS.forEach(o -> options.put(o.key(), o));
        }

        /** The device profile's value replaces the option's built-in default; the YAML still wins. */
        void profileDefault(String key, Object value) {
            Option o = options.get(key);
            Object v = o.defaultValue() instanceof Integer && value instanceof Long l ? (Object) l.intValue()
                    : o.defaultValue() instanceof Long && value instanceof Integer i ? (Object) i.longValue() : value;
            options.put(key, new Option(key, v, o.bounds(), o.doc()));
        }

        private JsonNode node(String key) {
            JsonNode n = root;
            for (String part : key.split("\\.")) {
                n = n.path(part);
            }
            return n.isMissingNode() || n.isNull() ? null : n;
        }

        private <T> T value(String key, Function<JsonNode, T> convert, String expected) {
            JsonNode n = node(key);
            @SuppressWarnings("unchecked")
            T dflt = (T) options.get(key).defaultValue();
            if (n == null) {
                return dflt;
            }
            T v = convert.apply(n);
            if (v == null) {
                problems.add(key + ": expected " + expected + ", got " + n);
                return dflt;
            }
            return v;
        }

        String string(String key) {
            return value(key, n -> n.isValueNode() && !n.asText().isBlank() ? n.asText() : null,
                    "a non-empty string");
        }

        boolean bool(String key) {
            return value(key, n -> n.isBoolean() ? n.asBoolean() : null, "true or false");
        }

        String token(String key) {
            String s = value(key, n -> n.isTextual() ? n.asText() : null, "a string");
            if (!s.isEmpty() && s.length() < 16) {
                problems.add(key + ": " + s.length() + " characters is too short to be a secret; use at least 16, "
                        + "or leave it empty");
            }
            return s;
        }

        String optionalString(String key) {
            return value(key, n -> n.isValueNode() ? n.asText() : null, "a string");
        }

        String optionalMatching(String key, String regex) {
            String s = optionalString(key);
            if (!s.isEmpty() && !s.matches(regex)) {
                problems.add(key + ": '" + s + "' is not allowed; expected " + options.get(key).bounds());
            }
            return s;
        }

        String optionalFile(String key) {
            String s = optionalString(key);
            if (!s.isEmpty() && !Files.isReadable(Path.of(s))) {
                problems.add(key + ": '" + s + "' is not a readable file");
            }
            return s;
        }

        String matching(String key, String regex) {
            String s = string(key);
            if (!s.matches(regex)) {
                problems.add(key + ": '" + s + "' is not allowed; expected " + options.get(key).bounds());
            }
            return s;
        }

        String host(String key) {
            String s = string(key);
            try {
                InetAddress.getByName(s);
            } catch (UnknownHostException e) {
                problems.add(key + ": '" + s + "' is not an address or a host name that resolves");
            }
            return s;
        }

        int integer(String key, int min, int max) {
            return (int) longValue(key, min, max);
        }

        long longValue(String key, long min, long max) {
            long v = this.<Number>value(key, n -> n.canConvertToExactIntegral() && n.canConvertToLong()
                    && n.isNumber() ? (Number) n.asLong() : null, "a whole number from " + min + " to " + max)
                    .longValue();
            if (v < min || v > max) {
                problems.add(key + ": " + v + " is outside the allowed range " + min + ".." + max);
                return ((Number) options.get(key).defaultValue()).longValue();
            }
            return v;
        }

        List<String> strings(String key) {
            return value(key, n -> {
                if (!n.isArray()) {
                    return null;
                }
                List<String> out = new ArrayList<>();
                for (JsonNode e : n) {
                    if (!e.isValueNode()) {
                        return null;
                    }
                    out.add(e.asText());
                }
                return List.copyOf(out);
            }, "a list of strings");
        }

        void unknownKeys() {
            if (!root.isObject()) {
                return;
            }
            Set<String> seen = new LinkedHashSet<>();
            collect((ObjectNode) root, "", seen);
            for (String key : seen) {
                if (!options.containsKey(key)) {
                    problems.add(key + ": unknown key; known keys: " + options.keySet());
                }
            }
        }

        private void collect(ObjectNode node, String prefix, Set<String> out) {
            node.properties().forEach(e -> {
                String key = prefix + e.getKey();
                if (e.getValue().isObject() && !options.containsKey(key)) {
                    collect((ObjectNode) e.getValue(), key + ".", out);
                } else {
                    out.add(key);
                }
            });
        }
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
