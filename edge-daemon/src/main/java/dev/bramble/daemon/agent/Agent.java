package dev.bramble.daemon.agent;

import dev.bramble.daemon.config.Option;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.bramble.daemon.env.ClassDataArchives;
import dev.bramble.daemon.env.Environments;
import dev.bramble.daemon.env.InitFailedException;
import dev.bramble.daemon.env.ThrottledException;
import dev.bramble.daemon.function.Deployment;
import dev.bramble.daemon.function.FunctionRegistry;
import dev.bramble.daemon.function.FunctionState;
import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.invoke.InvokeRequest;
import dev.bramble.daemon.invoke.InvokeResult;
import dev.bramble.daemon.invoke.Invoker;
import dev.bramble.daemon.store.Database;
import dev.bramble.daemon.store.Trees;
import dev.bramble.daemon.work.Worker;
import dev.bramble.protocol.Bundle;
import dev.bramble.protocol.BundleException;
import dev.bramble.protocol.DeploymentErrorCode;
import dev.bramble.protocol.DeploymentReport;
import dev.bramble.protocol.DesiredState;
import dev.bramble.protocol.SignatureException;
import dev.bramble.protocol.Signing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The device's deployment agent. It long-polls its desired state from the deployer and, for each function whose
 * desired bundle differs from what runs, downloads the bundle (resuming, after checking free disk), checks its
 * digest and its signature against the trusted keys, publishes it as a new local version without moving
 * {@code live}, runs the manifest's {@code testEvents} against it, and only then moves {@code live} in one step.
 * Any failure leaves (or puts back) the previous version live and is reported with a code. While the deployer is
 * unreachable it keeps serving what it has and tries again with backoff. Work begun and not ended when the daemon
 * stops is ended at the next start: the alias is put back where it was, and the desired state is applied again.
 */
public final class Agent implements AutoCloseable {
    public static final Option.Text DEPLOYER_URL = Option.text("agent.deployer-url", "", "http(s)://host:port, or empty",
            "the deployer this device follows; empty leaves the deployment agent off").optional()
            .matching("https?://[^\\s/]+(/.*)?");
    public static final Option.Text ENROLMENT_TOKEN = Option.text("agent.enrolment-token", "",
            "a token from the deployer, or empty",
            "enrols the device at its first contact; id and device token are then kept in state.db").optional();
    public static final Option.Text DEVICE_NAME = Option.text("agent.device-name",
            dev.bramble.daemon.config.Defaults::hostName, "the host name", "1 to 64 letters, digits, '-', '_' or '.'",
            "the name the device enrols under").matching("[A-Za-z0-9_.-]{1,64}");
    public static final Option.Text TRUSTED_KEYS = Option.text("agent.trusted-keys", "/etc/bramble/trusted-keys",
            "a directory", "public keys (*.pub, PEM) whose signatures the agent accepts");
    public static final Option<Integer> KEEP_VERSIONS = Option.integer("agent.keep-versions", 3, 1, 100, "",
            "versions kept per function for instant rollback");
    public static final Option<Integer> POLL_WAIT = Option.integer("agent.poll-wait-seconds", 25, 1, 300, "s",
            "how long a desired-state request waits for a change");
    public static final Option.Text CA_FILE = Option.text("agent.ca-file", "", "a readable PEM file, or empty",
            "CA certificates (or the deployer's own, pinned) its https certificate must chain to; empty: the JDK's "
                    + "trusted CAs").optional().readableFile();
    public static final Option<Boolean> INSECURE_HTTP = Option.flag("agent.insecure-http", false,
            "allow plain http:// to a deployer that is not on loopback (tokens and bundles travel in clear)");

    private static final System.Logger LOG = System.getLogger(Agent.class.getName());
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    /** The wait after a first failure to reach the deployer; doubled per failure up to {@link #MAX_BACKOFF_MS}. */
    private static final long MIN_BACKOFF_MS = 1_000;
    private static final long MAX_BACKOFF_MS = 30_000;

    /**
     * Settings.
     *
     * @param deployerUrl     the deployer, e.g. {@code http://deployer:8700}
     * @param enrolmentToken  used once, when the device has no identity yet
     * @param deviceName      the name it enrols under
     * @param trustedKeys     the directory of signers' public keys ({@code *.pub})
     * @param keepVersions    versions of a function kept for instant rollback
     * @param pollWaitSeconds how long one desired-state request waits for a change
     * @param deployerTls     the TLS context for the deployer (its CA from agent.ca-file), or null for the JDK's
     */
    public record Settings(String deployerUrl, String enrolmentToken, String deviceName, Path trustedKeys,
                           int keepVersions, int pollWaitSeconds, javax.net.ssl.SSLContext deployerTls) {
    }

    private final Settings settings;
    private final Database database;
    private final FunctionRegistry registry;
    private final Environments environments;
    private final ClassDataArchives archives;
    private final Invoker invoker;
    private final Clock clock;
    private final Path incoming;
    private volatile dev.bramble.sync.SyncAgent.Endpoint endpoint;
    /** To the deployer, trusting agent.ca-file when set. */
    private final HttpClient http;
    /** To any other origin a desired state names: the JDK's trusted CAs (digest and signature are checked anyway). */
    private final HttpClient origins = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final Worker worker;
    /** The wait after the next failure; the worker's alone. */
    private long backoff = MIN_BACKOFF_MS;
    private volatile String state = "starting";
    private volatile String lastError = "";
    private volatile Instant lastContact;
    private volatile long revision = -1;
    private volatile String deviceId = "";
    private final java.util.Set<String> reported = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private Agent(Settings settings, Database database, FunctionRegistry registry, Environments environments,
                  ClassDataArchives archives, Invoker invoker, Path dataDir, Clock clock) {
        this.settings = settings;
        this.database = database;
        this.registry = registry;
        this.environments = environments;
        this.archives = archives;
        this.invoker = invoker;
        this.clock = clock;
        this.incoming = dataDir.resolve("incoming");
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
        this.http = (settings.deployerTls() == null ? b : b.sslContext(settings.deployerTls())).build();
        this.worker = Worker.unstarted("bramble-agent", this::poll);
    }

    /** Ends what a previous run left half-done, then starts following the deployer in the background. */
    public static Agent start(Settings settings, Database database, FunctionRegistry registry,
                              Environments environments, ClassDataArchives archives, Invoker invoker, Path dataDir,
                              Clock clock) {
        Agent a = new Agent(settings, database, registry, environments, archives, invoker, dataDir, clock);
        a.recover();
        a.worker.start();
        return a;
    }

    /** The worker's step: one long poll of the desired state, and what it asks for. */
    private Duration poll() throws InterruptedException {
        try {
            Identity id = identity();
            deviceId = id.deviceId();
            DesiredState desired;
            try {
                desired = JSON.treeToValue(get(id, "/v1/devices/" + id.deviceId() + "/desired?after=" + revision
                        + "&wait=" + settings.pollWaitSeconds()), DesiredState.class);
            } catch (RevokedException e) {
                forget(id);
                throw e;
            }
            lastContact = clock.instant();
            state = "following";
            lastError = "";
            backoff = MIN_BACKOFF_MS;
            if (desired.rotateToken()) {
                id = rotate(id);
            }
            long rev = desired.revision();
            boolean allApplied = true;
            for (DesiredState.Function f : desired.functions()) {
                allApplied &= apply(id, f);
            }
            state = "following"; // not "deploying …" for the whole next long-poll
            if (allApplied) {
                revision = rev;
                return Duration.ZERO;
            }
            // A report did not go out: the same desired state comes back at once, so pause before retrying.
            return Duration.ofSeconds(1);
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            if (worker.closed()) {
                throw new InterruptedException("closed");
            }
            state = e instanceof RevokedException ? "revoked" : "unreachable";
            lastError = e.getMessage() == null ? e.toString() : e.getMessage();
            LOG.log(Level.WARNING, "agent.deployer-unreachable error={0} retry_in_ms={1}", lastError, backoff);
            Duration wait = Duration.ofMillis(backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
            return wait;
        }
    }

    /** Brings one function to its desired bundle; false when it must be tried again (a report did not go out). */
    private boolean apply(Identity id, DesiredState.Function f) throws InterruptedException {
        if (f.removed()) {
            return remove(id, f);
        }
        String function = f.function();
        String sha = f.sha256();
        String deployment = f.deployment();
        Optional<FunctionVersion> live = live(function);
        if (live.isPresent() && live.get().sha256().equals(sha)) {
            // Reported once per run: a later desired state that still names the deployment needs no new word.
            if (deployment == null || reported.contains(deployment)) {
                return true;
            }
            return report(id, DeploymentReport.succeeded(deployment));
        }
        Integer previous = live.map(FunctionVersion::version).orElse(null);
        state = "deploying " + function;
        LOG.log(Level.INFO, "agent.deploying function={0} sha256={1} deployment={2}", function, sha, deployment);
        work(function, deployment, sha, previous);
        try {
            FunctionVersion v = install(id, f, sha);
            smokeTest(v);
            registry.alias(function, FunctionRegistry.LIVE, v.version());
            endWork(function);
            afterSwitch(v);
            registry.prune(function, settings.keepVersions());
            LOG.log(Level.INFO, "agent.live function={0} version={1} sha256={2}", function, v.version(), sha);
            return deployment == null || report(id, DeploymentReport.succeeded(deployment));
        } catch (AgentException e) {
            restore(function, previous);
            endWork(function);
            LOG.log(Level.WARNING, "agent.failed function={0} code={1} error={2}", function, e.code(), e.getMessage());
            // Without a deployment there is no one to tell; the desired state stays until the deployer changes it.
            return deployment == null || report(id, DeploymentReport.failed(deployment, e.code(), e.getMessage()));
        }
    }

    /** An undeploy: deletes the function, if it is here, and says so; false when the report must be sent again. */
    private boolean remove(Identity id, DesiredState.Function f) throws InterruptedException {
        String deployment = f.deployment();
        if (registry.function(f.function()).isPresent()) {
            state = "removing " + f.function();
            List<Integer> versions = registry.remove(f.function());
            LOG.log(Level.INFO, "agent.removed function={0} versions={1} deployment={2}", f.function(), versions,
                    deployment);
        } else if (deployment == null || reported.contains(deployment)) {
            return true;
        }
        return deployment == null || report(id, DeploymentReport.succeeded(deployment));
    }

    private Optional<FunctionVersion> live(String function) {
        return registry.function(function).flatMap(s -> Optional.ofNullable(s.aliases().get(FunctionRegistry.LIVE))
                .map(v -> s.versions().get(v)));
    }

    /**
     * Downloads, checks and publishes the bundle as a local version that is not live yet. A bundle the desired state
     * has from another origin (a CDN, a bucket) that cannot be fetched there, or whose bytes are not the digest,
     * is fetched from the deployer instead: the origin is not trusted, and a broken one does not stop a rollout.
     */
    private FunctionVersion install(Identity id, DesiredState.Function f, String sha) throws AgentException,
            InterruptedException {
        Path part = incoming.resolve(sha + ".part");
        String fromDeployer = "/v1/bundles/" + sha;
        try {
            fetch(id, f.url(), part, f.size(), sha);
        } catch (AgentException e) {
            boolean origin = !f.url().equals(fromDeployer);
            if (!origin || (e.code() != DeploymentErrorCode.DOWNLOAD_FAILED
                    && e.code() != DeploymentErrorCode.DIGEST_MISMATCH)) {
                throw e;
            }
            LOG.log(Level.WARNING, "agent.origin-failed url={0} code={1} error={2}; fetching from the deployer",
                    f.url(), e.code(), e.getMessage());
            Trees.deleteQuietly(part);
            fetch(id, fromDeployer, part, f.size(), sha);
        }
        try {
            Signing.verify(sha, Signing.BundleSignature.parse(f.signature() == null ? "" : f.signature()),
                    Signing.trustedKeys(settings.trustedKeys()));
        } catch (SignatureException e) {
            Trees.deleteQuietly(part);
            throw new AgentException(e.code() == SignatureException.Code.UNTRUSTED_KEY
                    ? DeploymentErrorCode.UNTRUSTED_KEY : DeploymentErrorCode.SIGNATURE_INVALID,
                    e.code() + ": " + e.getMessage());
        }
        try {
            Path upload = registry.newUploadFile();
            Files.move(part, upload, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Deployment d = registry.deploy(upload, "agent-staging");
            return registry.resolve(d.function(), Integer.toString(d.version()));
        } catch (BundleException e) {
            throw new AgentException(DeploymentErrorCode.INVALID_BUNDLE, e.getMessage() + " " + e.problems());
        } catch (IOException | RuntimeException e) {
            throw new AgentException(DeploymentErrorCode.INTERNAL, e.toString());
        }
    }

    /** Brings {@code part} to the bundle with digest {@code sha}, resuming what an earlier run left. */
    private void fetch(Identity id, String url, Path part, long size, String sha) throws AgentException,
            InterruptedException {
        try {
            Files.createDirectories(incoming);
            long have = Files.exists(part) ? Files.size(part) : 0;
            if (Files.getFileStore(incoming).getUsableSpace() < (size - have) * 3 + (16L << 20)) {
                throw new AgentException(DeploymentErrorCode.DISK_FULL, "not enough free disk for a " + size
                        + "-byte bundle (it is kept, unpacked and staged)");
            }
            if (have < size) {
                download(id, url, part, have, size);
            }
        } catch (TooLong e) {
            // more bytes than the bundle has cannot be the bundle
            Trees.deleteQuietly(part);
            throw new AgentException(DeploymentErrorCode.DIGEST_MISMATCH, "GET " + url + ": " + e.getMessage());
        } catch (IOException e) {
            throw new AgentException(DeploymentErrorCode.DOWNLOAD_FAILED, e.getMessage());
        }
        String actual;
        try {
            actual = Bundle.sha256(part);
        } catch (java.io.UncheckedIOException e) {
            throw new AgentException(DeploymentErrorCode.DOWNLOAD_FAILED, e.getMessage());
        }
        if (!actual.equals(sha)) {
            Trees.deleteQuietly(part);
            throw new AgentException(DeploymentErrorCode.DIGEST_MISMATCH, "the bundle from " + url + " has SHA-256 "
                    + actual + ", the desired state says " + sha);
        }
    }

    /**
     * Appends the bundle's bytes from {@code from} to {@code part}, and no more than the desired state's size: an
     * origin that sends more (a hostile or wrong one) cannot fill the disk.
     */
    private void download(Identity id, String url, Path part, long from, long size) throws IOException,
            InterruptedException {
        String full = url.startsWith("http://") || url.startsWith("https://") ? url : settings.deployerUrl() + url;
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(full)).timeout(Duration.ofMinutes(10));
        // Any origin may serve the bytes (digest and signature are checked); only the deployer gets the token.
        boolean deployer = full.startsWith(settings.deployerUrl() + "/");
        if (deployer) {
            b.header("Authorization", "Bearer " + id.token());
        }
        if (from > 0) {
            b.header("Range", "bytes=" + from + "-");
        }
        HttpResponse<InputStream> r = (deployer ? http : origins).send(b.build(),
                HttpResponse.BodyHandlers.ofInputStream());
        boolean resumed = r.statusCode() == 206;
        if (r.statusCode() != 200 && !resumed) {
            r.body().close();
            throw new IOException("GET " + url + " answered " + r.statusCode());
        }
        long want = resumed ? size - from : size;
        try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE,
                resumed ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            long copied = in.transferTo(new BoundedOutput(out, want));
            if (copied < want) {
                throw new IOException("GET " + url + " ended after " + (size - want + copied) + " of " + size
                        + " bytes");
            }
        }
    }

    private static final class TooLong extends IOException {
        TooLong(String message) {
            super(message);
        }
    }

    /** Passes on at most {@code limit} bytes and refuses the rest. */
    private static final class BoundedOutput extends java.io.FilterOutputStream {
        private long left;
        private final long limit;

        BoundedOutput(OutputStream out, long limit) {
            super(out);
            this.left = limit;
            this.limit = limit;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[]{(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len > left) {
                throw new TooLong("the origin sent more than the " + limit + " bytes the desired state says");
            }
            left -= len;
            out.write(b, off, len);
        }
    }

    /** Runs the manifest's test events against the new version; every one must succeed. */
    private void smokeTest(FunctionVersion v) throws AgentException {
        int i = 0;
        for (String event : v.manifest().testEvents()) {
            InvokeResult r;
            try {
                r = invoker.invoke(new InvokeRequest(v.function(), Integer.toString(v.version()),
                        event.getBytes(StandardCharsets.UTF_8), "", UUID.randomUUID().toString(), false));
            } catch (ThrottledException e) {
                throw new AgentException(DeploymentErrorCode.SMOKE_TEST_FAILED, "testEvents[" + i + "]: no room to "
                        + "run the new version: " + e.getMessage());
            }
            if (r.error()) {
                String error = new String(r.payload(), StandardCharsets.UTF_8);
                throw new AgentException(error.contains("Runtime.ExitError") || i == 0 && error.contains("Init")
                        ? DeploymentErrorCode.INIT_FAILED : DeploymentErrorCode.SMOKE_TEST_FAILED,
                        "testEvents[" + i + "] failed: " + error);
            }
            i++;
        }
    }

    private void afterSwitch(FunctionVersion v) {
        try {
            environments.provision(v);
        } catch (InitFailedException | ThrottledException e) {
            LOG.log(Level.WARNING, "agent.provision-failed function={0} error={1}", v.label(), e.getMessage());
        }
        archives.afterDeploy(v);
    }

    private void restore(String function, Integer previous) {
        Optional<FunctionState> f = registry.function(function);
        if (previous != null && f.isPresent() && !previous.equals(f.get().aliases().get(FunctionRegistry.LIVE))) {
            registry.alias(function, FunctionRegistry.LIVE, previous);
            LOG.log(Level.INFO, "agent.restored function={0} version={1}", function, previous);
        }
    }

    /** Sends a report; false when it must be sent again (the deployer was not reached, or answered 5xx). */
    private boolean report(Identity id, DeploymentReport report) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(settings.deployerUrl() + "/v1/devices/"
                            + id.deviceId() + "/reports")).timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + id.token()).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(report))).build(),
                    HttpResponse.BodyHandlers.ofString());
            // 404: the rollout is gone. 400: the deployer will never take this report (an older deployer that does
            // not know a code); sending it again would only loop, so it is logged and let go.
            if (r.statusCode() == 400) {
                LOG.log(Level.WARNING, "agent.report-refused deployment={0} answer={1}", report.deployment(), r.body());
            }
            boolean done = r.statusCode() == 200 || r.statusCode() == 404 || r.statusCode() == 400;
            if (done) {
                reported.add(report.deployment());
            }
            return done;
        } catch (IOException e) {
            lastError = "report failed: " + e.getMessage();
            return false;
        }
    }

    // --- identity and work records ----------------------------------------------------------------------------

    private record Identity(String deviceId, String token) {
    }

    /**
     * Where telemetry goes and with which credentials, once the device is enrolled; empty before. Nothing here
     * talks to the network: enrolment is the agent's own loop.
     */
    public Optional<dev.bramble.sync.SyncAgent.Endpoint> endpoint() {
        dev.bramble.sync.SyncAgent.Endpoint e = endpoint;
        if (e != null) {
            return Optional.of(e);
        }
        try {
            stored().ifPresent(id -> endpoint = new dev.bramble.sync.SyncAgent.Endpoint(settings.deployerUrl(),
                    id.deviceId(), id.token()));
        } catch (SQLException ex) {
            LOG.log(Level.WARNING, "agent.identity-read-failed error={0}", ex.toString());
        }
        return Optional.ofNullable(endpoint);
    }

    /** The identity enrolment stored, if any. */
    private Optional<Identity> stored() throws SQLException {
        try (Connection c = database.connect();
             PreparedStatement s = c.prepareStatement("SELECT device_id, token FROM agent_identity WHERE id = 1");
             ResultSet rs = s.executeQuery()) {
            return rs.next() ? Optional.of(new Identity(rs.getString(1), rs.getString(2))) : Optional.empty();
        }
    }

    /** The stored identity, or a new one from enrolment with agent.enrolment-token. */
    private Identity identity() throws IOException, InterruptedException {
        try {
            Optional<Identity> id = stored();
            if (id.isPresent()) {
                return id.get();
            }
        } catch (SQLException e) {
            throw new IOException("agent state: " + e.getMessage(), e);
        }
        if (settings.enrolmentToken().isEmpty()) {
            throw new IOException("this device has no identity and agent.enrolment-token is empty");
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(settings.deployerUrl() + "/v1/enrol"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(Map.of("token",
                        settings.enrolmentToken(), "name", settings.deviceName())))).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IOException("enrolment refused (" + r.statusCode() + "): " + r.body());
        }
        JsonNode n = JSON.readTree(r.body());
        Identity id = new Identity(n.path("deviceId").asText(), n.path("deviceToken").asText());
        sql("INSERT INTO agent_identity (id, deployer, device_id, token) VALUES (1, ?, ?, ?)", settings.deployerUrl(),
                id.deviceId(), id.token());
        LOG.log(Level.INFO, "agent.enrolled device_id={0} deployer={1}", id.deviceId(), settings.deployerUrl());
        return id;
    }

    private JsonNode get(Identity id, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(settings.deployerUrl() + path))
                .timeout(Duration.ofSeconds(settings.pollWaitSeconds() + 15L))
                .header("Authorization", "Bearer " + id.token()).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 401 && revoked(r.body())) {
            throw new RevokedException(r.body());
        }
        if (r.statusCode() != 200) {
            throw new IOException("GET " + path + " answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /**
     * Gets a new token with the current one and stores it before it is used. The deployer keeps the current one
     * working until the new one is first used, so a crash or a lost answer here only means asking again.
     */
    private Identity rotate(Identity id) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(settings.deployerUrl() + "/v1/devices/"
                        + id.deviceId() + "/token")).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + id.token()).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IOException("POST /v1/devices/" + id.deviceId() + "/token answered " + r.statusCode() + ": "
                    + r.body());
        }
        String token = JSON.readTree(r.body()).path("deviceToken").asText("");
        if (token.isEmpty()) {
            throw new IOException("the deployer's answer to a token rotation has no deviceToken");
        }
        sql("UPDATE agent_identity SET token = ? WHERE id = 1 AND device_id = ?", token, id.deviceId());
        Identity next = new Identity(id.deviceId(), token);
        endpoint = new dev.bramble.sync.SyncAgent.Endpoint(settings.deployerUrl(), next.deviceId(), next.token());
        LOG.log(Level.INFO, "agent.token-rotated device_id={0}", id.deviceId());
        return next;
    }

    /** The deployer says the operator revoked this device's token ({@code bramble devices revoke}). */
    private static final class RevokedException extends IOException {
        RevokedException(String body) {
            super("the deployer revoked this device's token: " + body);
        }
    }

    private static boolean revoked(String body) {
        try {
            return "TokenRevoked".equals(JSON.readTree(body).path("type").asText());
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Forgets a revoked identity, so the next turn enrols again with {@code agent.enrolment-token} (a new one the
     * operator gave, or what is left of the old one's uses). What the device runs keeps running meanwhile.
     */
    private void forget(Identity id) {
        sql("DELETE FROM agent_identity WHERE id = 1 AND device_id = ?", id.deviceId());
        endpoint = null;
        revision = -1;
        reported.clear();
        LOG.log(Level.ERROR, "agent.revoked device_id={0} re_enrol={1}", id.deviceId(),
                settings.enrolmentToken().isEmpty() ? "no: agent.enrolment-token is empty" : "with agent.enrolment-token");
    }

    private void work(String function, String deployment, String sha, Integer previous) {
        sql("INSERT INTO agent_work (function, deployment, sha256, previous, started_at) VALUES (?, ?, ?, ?, ?) "
                + "ON CONFLICT (function) DO UPDATE SET deployment = excluded.deployment, sha256 = excluded.sha256, "
                + "previous = excluded.previous, started_at = excluded.started_at", function, deployment, sha,
                previous, clock.millis());
    }

    private void endWork(String function) {
        sql("DELETE FROM agent_work WHERE function = ?", function);
    }

    /**
     * Work a crash interrupted: put {@code live} back where it was; the desired state is applied again (a partial
     * download resumes). Partial downloads older than a day belong to no deployment any more and go.
     */
    private void recover() {
        try (var parts = Files.list(incoming)) {
            long dayAgo = clock.millis() - Duration.ofDays(1).toMillis();
            for (Path p : parts.filter(f -> f.getFileName().toString().endsWith(".part")).toList()) {
                if (Files.getLastModifiedTime(p).toMillis() < dayAgo) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "agent.no-incoming dir={0}", incoming);
        }
        try (Connection c = database.connect();
             PreparedStatement s = c.prepareStatement("SELECT function, previous FROM agent_work");
             ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                String function = rs.getString(1);
                int previous = rs.getInt(2);
                if (!rs.wasNull()) {
                    restore(function, previous);
                }
                LOG.log(Level.INFO, "agent.recovered function={0} live={1}", function, live(function)
                        .map(FunctionVersion::version).orElse(null));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("agent state: " + e.getMessage(), e);
        }
        sql("DELETE FROM agent_work");
    }

    private void sql(String statement, Object... args) {
        database.tx(c -> {
            try (PreparedStatement s = c.prepareStatement(statement)) {
                for (int i = 0; i < args.length; i++) {
                    s.setObject(i + 1, args[i]);
                }
                return s.executeUpdate();
            }
        });
    }

    /** The agent for {@code /v1/status}: whom it follows, as which device, how it stands, its last contact and error. */
    public record Status(String deployer, String deviceId, String state, long revision, String lastContact,
                         String lastError) {
    }

    /** For {@code /v1/status}. */
    public Status status() {
        return new Status(settings.deployerUrl(), deviceId, state, revision,
                lastContact == null ? null : lastContact.toString(), lastError);
    }

    @Override
    public void close() {
        worker.close();
    }
}
