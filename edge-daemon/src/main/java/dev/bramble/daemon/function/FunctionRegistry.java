package dev.bramble.daemon.function;

import dev.bramble.daemon.config.Option;
import dev.bramble.daemon.store.Database;
import dev.bramble.daemon.store.Trees;
import dev.bramble.protocol.Bundle;
import dev.bramble.protocol.BundleException;
import dev.bramble.protocol.Durable;
import dev.bramble.protocol.Manifest;
import dev.bramble.protocol.ManifestParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * Functions, versions and aliases. The truth is in SQLite; an immutable snapshot in memory answers every lookup
 * on the invoke path without a query. Deployments are serialised by one lock, so version numbers never race.
 */
public final class FunctionRegistry {
    public static final Option<Integer> DEFAULT_MEMORY = Option.integer("functions.default-memory-mb", 128, 32,
            10_240, "MB", "a function's memory when function.json sets none (default: the device profile's)");
    public static final Option<Integer> DEFAULT_TMP = Option.integer("functions.default-tmp-mb", 32, 1, 10_240, "MB",
            "a function's /tmp when function.json sets none (default: the device profile's)");
    public static final Option<Long> BUNDLE_MAX = Option.longInteger("bundles.max-bytes", 64L << 20, 1024, 4L << 30,
            "bytes", "largest bundle zip a deployment accepts");
    public static final Option<Boolean> ALLOW_UNSIGNED = Option.flag("security.allow-unsigned", false,
            "accept unsigned bundles on POST /v1/deployments (development); signed by agent.trusted-keys otherwise");

    /** The alias a deployment moves unless told otherwise, and that an unqualified invoke uses. */
    public static final String LIVE = "live";
    /** The qualifier meaning the newest version. */
    public static final String LATEST = "$LATEST";

    private static final System.Logger LOG = System.getLogger(FunctionRegistry.class.getName());
    private static final Pattern ALIAS = Pattern.compile("(?!^[0-9]+$)[A-Za-z0-9_-]{1,128}");

    private final Database database;
    private final Path bundlesDir;
    private final Path functionsDir;
    private final Path incomingDir;
    private final Bundle.Limits limits;
    private final ManifestParser.Defaults defaults;
    private final Clock clock;
    private final ReentrantLock writeLock = new ReentrantLock();
    private volatile Map<String, FunctionState> functions;
    private final List<Runnable> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<java.util.function.Consumer<String>> removeListeners =
            new java.util.concurrent.CopyOnWriteArrayList<>();
    /** What was rebuilt at this start because state.db was missing, empty or corrupt; null when nothing was. */
    private volatile String recovery;
    private final TestEvents testEvents;

    private FunctionRegistry(Database database, Path dataDir, Bundle.Limits limits, ManifestParser.Defaults defaults,
                             Clock clock, Map<String, FunctionState> functions) {
        this.defaults = defaults;
        this.database = database;
        this.bundlesDir = dataDir.resolve("bundles");
        this.functionsDir = dataDir.resolve("functions");
        this.incomingDir = dataDir.resolve("incoming");
        this.limits = limits;
        this.clock = clock;
        this.functions = Map.copyOf(functions);
        this.testEvents = new TestEvents(database, clock);
    }

    /** The functions' saved test events. */
    public TestEvents testEvents() {
        return testEvents;
    }

    /** Loads every function from the database; code directories that went missing are unpacked again. */
    public static FunctionRegistry open(Database database, Path dataDir, Bundle.Limits limits, Clock clock) {
        return open(database, dataDir, limits, ManifestParser.Defaults.BRAMBLE, clock);
    }

    /**
     * Loads every function; manifests that leave memory or /tmp out get {@code defaults} (the device profile's),
     * read again at every start.
     */
    public static FunctionRegistry open(Database database, Path dataDir, Bundle.Limits limits,
                                        ManifestParser.Defaults defaults, Clock clock) {
        try {
            for (String dir : List.of("bundles", "functions", "incoming")) {
                Files.createDirectories(dataDir.resolve(dir));
            }
            // Half-received uploads and half-unpacked code from a previous run are worthless; the agent's partial
            // downloads (<sha256>.part) are not: it resumes them.
            try (var leftovers = Files.list(dataDir.resolve("incoming"))) {
                for (Path p : leftovers.filter(f -> !f.getFileName().toString().endsWith(".part")).toList()) {
                    Files.deleteIfExists(p);
                }
            }
            try (var staging = Files.list(dataDir.resolve("functions"))) {
                for (Path p : staging.filter(p -> p.getFileName().toString().startsWith(".staging-")).toList()) {
                    Trees.delete(p);
                }
            }
            try (var temps = Files.list(dataDir.resolve("bundles"))) {
                for (Path p : temps.filter(Durable::isLeftover).toList()) {
                    Files.deleteIfExists(p); // a copy a kill interrupted: the bundle under its digest is whole
                }
            }
            FunctionRegistry registry = new FunctionRegistry(database, dataDir, limits, defaults, clock, Map.of());
            if (database.replaced() != null && registry.hasStoredBundles()) {
                registry.recovery = database.replaced() + "; " + registry.rebuild();
                LOG.log(Level.WARNING, "registry.rebuilt {0}", registry.recovery);
            }
            registry.functions = Map.copyOf(registry.loadAll());
            registry.removeOrphans();
            return registry;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + dataDir, e);
        }
    }

    /** Every function, by name. */
    public List<FunctionState> functions() {
        return new TreeMap<>(functions).values().stream().toList();
    }

    public Optional<FunctionState> function(String name) {
        return Optional.ofNullable(functions.get(name));
    }

    /**
     * The version a qualifier names: a version number, an alias, {@code $LATEST}, or null for {@code live}. An
     * alias with a {@link FunctionState.Routing routing} names its additional version for that share of the calls,
     * chosen afresh for each.
     *
     * @throws NotFoundException naming what exists
     */
    public FunctionVersion resolve(String name, String qualifier) {
        FunctionState f = functions.get(name);
        if (f == null) {
            throw new NotFoundException("Function not found: " + name + "; deployed: "
                    + new TreeMap<>(functions).keySet());
        }
        String q = qualifier == null || qualifier.isEmpty() ? LIVE : qualifier;
        if (q.equals(LATEST)) {
            return f.latest();
        }
        Integer version = q.chars().allMatch(Character::isDigit) ? Integer.valueOf(parse(q)) : f.aliases().get(q);
        FunctionState.Routing routing = f.routing().get(q);
        if (routing != null && java.util.concurrent.ThreadLocalRandom.current().nextDouble() < routing.weight()) {
            version = routing.version();
        }
        FunctionVersion v = version == null ? null : f.versions().get(version);
        if (v == null) {
            throw new NotFoundException("Function not found: " + name + ":" + q + "; versions: "
                    + f.versions().keySet() + ", aliases: " + new TreeMap<>(f.aliases()).keySet());
        }
        return v;
    }

    private static int parse(String digits) {
        try {
            return Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** A fresh file to receive an upload into, on the same file system as the bundle store. */
    public Path newUploadFile() throws IOException {
        return Files.createTempFile(incomingDir, "upload-", ".zip");
    }

    /** The bundle limits deployments are held to. */
    public Bundle.Limits limits() {
        return limits;
    }

    /**
     * Publishes a bundle as the function's next version and points {@code alias} at it. A bundle identical to
     * the newest version reuses that version. The upload file is consumed either way.
     *
     * @throws BundleException listing every problem, when the bundle is not acceptable; nothing is stored
     */
    public Deployment deploy(Path upload, String alias) {
        return deploy(upload, alias, null);
    }

    /**
     * As {@link #deploy(Path, String)}; with a {@code weight}, a canary: {@code alias} stays where it is and sends
     * that share of its invocations to the new version (Lambda's weighted alias, as CodeDeploy shifts traffic).
     *
     * @throws BundleException listing every problem, when the bundle or the weight is not acceptable; nothing is
     *                         stored
     */
    public Deployment deploy(Path upload, String alias, Double weight) {
        try {
            if (!ALIAS.matcher(alias).matches()) {
                throw new BundleException(List.of(aliasNotAllowed(alias)));
            }
            if (weight != null && !FunctionState.Routing.allowed(weight)) {
                throw new BundleException(List.of("weight " + weight + " is not allowed; use a share from 0.0 to 1.0 "
                        + "of the alias's invocations"));
            }
            Bundle bundle = Bundle.open(upload, limits);
            writeLock.lock();
            try {
                return publish(bundle, alias, weight);
            } finally {
                writeLock.unlock();
            }
        } finally {
            try {
                Files.deleteIfExists(upload);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "deploy.cleanup-failed file={0} error={1}", upload, e.toString());
            }
        }
    }

    private Deployment publish(Bundle bundle, String alias, Double weight) {
        Manifest manifest = ManifestParser.parse(bundle.manifestJson(), defaults);
        String name = manifest.name();
        FunctionState current = functions.get(name);
        Instant now = clock.instant();
        boolean same = current != null && current.latest().sha256().equals(bundle.sha256());
        int version = current == null ? 1 : same ? current.latest().version() : current.latest().version() + 1;
        Integer primary = current == null ? null : current.aliases().get(alias);
        if (weight != null && (primary == null || primary == version)) {
            throw new BundleException(List.of("a weighted deployment of " + name + " needs alias '" + alias
                    + "' already at an earlier version, to share its invocations with the new one; "
                    + (primary == null ? "it has no such alias" : "the alias is at this bundle's version " + primary)
                    + " — deploy without a weight"));
        }
        FunctionState.Routing canary = weight == null ? null : new FunctionState.Routing(version, weight);
        if (same) {
            repair(current.latest(), bundle);
            sql(c -> point(c, name, alias, version, primary, canary, now));
            swap(canary == null ? withAlias(current, alias, version) : withRouting(current, alias, primary, canary));
            return new Deployment(name, version, bundle.sha256(), alias, false);
        }
        Path code = codeDir(name, version);
        Path zip = bundlesDir.resolve(bundle.sha256() + ".zip");
        // A zip under this digest is trusted only if it has it: one a crash cut short is replaced.
        boolean newZip = !Files.exists(zip) || !Bundle.sha256(zip).equals(bundle.sha256());
        Path staging = functionsDir.resolve(".staging-" + UUID.randomUUID());
        try {
            bundle.unpackTo(staging);
            Trees.delete(code); // a leftover of a run that crashed before recording this version
            Files.createDirectories(code.getParent());
            // Read-only only after the move: renaming a directory into another parent needs write access to it.
            Files.move(staging, code, StandardCopyOption.ATOMIC_MOVE);
            Durable.sync(code.getParent());
            Trees.makeReadOnly(code);
            if (newZip) {
                Durable.copy(bundle.path(), zip);
            }
            // What a rebuild of state.db reads: which bundle each version was.
            writeSidecar(name, version, bundle.sha256());
            sql(c -> {
                try (PreparedStatement f = c.prepareStatement(
                        "INSERT OR IGNORE INTO functions (name, created_at) VALUES (?, ?)");
                     PreparedStatement v = c.prepareStatement("INSERT INTO versions (function, version, sha256, "
                             + "manifest, size, created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
                    f.setString(1, name);
                    f.setLong(2, now.toEpochMilli());
                    f.executeUpdate();
                    v.setString(1, name);
                    v.setInt(2, version);
                    v.setString(3, bundle.sha256());
                    v.setBytes(4, bundle.manifestJson());
                    v.setLong(5, bundle.size());
                    v.setLong(6, now.toEpochMilli());
                    v.executeUpdate();
                }
                point(c, name, alias, version, primary, canary, now);
            });
        } catch (IOException | RuntimeException e) {
            Trees.deleteQuietly(staging);
            undo(code, newZip ? zip : null);
            Trees.deleteQuietly(sidecar(name, version));
            if (e instanceof IOException io) {
                throw new StorageException("deploy of " + name + " failed: cannot store its code: " + io, io);
            }
            throw (RuntimeException) e;
        }
        FunctionVersion fv = new FunctionVersion(name, version, bundle.sha256(), manifest, code, bundle.size(), now);
        FunctionState base = current == null ? new FunctionState(name, new TreeMap<>(), Map.of()) : current;
        TreeMap<Integer, FunctionVersion> versions = new TreeMap<>(base.versions());
        versions.put(version, fv);
        FunctionState added = new FunctionState(name, versions, base.aliases(), base.routing());
        swap(canary == null ? withAlias(added, alias, version) : withRouting(added, alias, primary, canary));
        LOG.log(Level.INFO, "deploy.published function={0} version={1} alias={2} sha256={3} weight={4}", name,
                version, alias, bundle.sha256(), weight == null ? "all" : weight);
        return new Deployment(name, version, bundle.sha256(), alias, true);
    }

    /**
     * The same bundle deployed again is how an operator restores a version whose stored zip or code a crash or a
     * failing disk damaged: both are written again from the upload when they are not whole.
     */
    private void repair(FunctionVersion v, Bundle bundle) {
        Path zip = bundlesDir.resolve(v.sha256() + ".zip");
        Path staging = functionsDir.resolve(".staging-" + UUID.randomUUID());
        try {
            if (!Files.exists(zip) || !Bundle.sha256(zip).equals(v.sha256())) {
                Durable.copy(bundle.path(), zip);
                LOG.log(Level.WARNING, "registry.bundle-repaired function={0} version={1} bundle={2}", v.function(),
                        v.version(), zip);
            }
            if (!Files.isDirectory(v.codeDir())) {
                bundle.unpackTo(staging);
                Files.createDirectories(v.codeDir().getParent());
                Files.move(staging, v.codeDir(), StandardCopyOption.ATOMIC_MOVE);
                Durable.sync(v.codeDir().getParent());
                Trees.makeReadOnly(v.codeDir());
                LOG.log(Level.WARNING, "registry.code-restored dir={0} from=upload", v.codeDir());
            }
            if (!Files.exists(sidecar(v.function(), v.version()))) {
                writeSidecar(v.function(), v.version(), v.sha256());
            }
        } catch (IOException e) {
            Trees.deleteQuietly(staging);
            throw new StorageException("deploy of " + v.function() + " failed: cannot restore its code: " + e, e);
        }
    }

    private void undo(Path code, Path zip) {
        try {
            Trees.delete(code);
            if (zip != null) {
                Files.deleteIfExists(zip);
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "deploy.undo-failed code={0} error={1}", code, e.toString());
        }
    }

    /** The alias moved to {@code version}, all of its invocations with it. */
    private static FunctionState withAlias(FunctionState f, String alias, int version) {
        return withRouting(f, alias, version, null);
    }

    private static String aliasNotAllowed(String alias) {
        return "alias '" + alias + "' is not allowed; use 1 to 128 letters, digits, '-' or '_', not only digits";
    }

    private static FunctionState withRouting(FunctionState f, String alias, int version,
                                             FunctionState.Routing routing) {
        Map<String, Integer> aliases = new HashMap<>(f.aliases());
        aliases.put(alias, version);
        Map<String, FunctionState.Routing> routings = new HashMap<>(f.routing());
        if (routing == null) {
            routings.remove(alias);
        } else {
            routings.put(alias, routing);
        }
        return new FunctionState(f.name(), f.versions(), aliases, routings);
    }

    private static void point(Connection c, String function, String alias, int version, Integer primary,
                              FunctionState.Routing canary, Instant now) throws SQLException {
        if (canary == null) {
            upsertAlias(c, function, alias, version, null, now);
        } else {
            upsertAlias(c, function, alias, primary, canary, now);
        }
    }

    private void swap(FunctionState f) {
        Map<String, FunctionState> next = new HashMap<>(functions);
        next.put(f.name(), f);
        functions = Map.copyOf(next);
        notifyListeners();
    }

    private void notifyListeners() {
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "registry.listener-failed error={0}", e.toString());
            }
        }
    }

    /**
     * Calls {@code listener} after every change of versions or aliases (an activation is an alias moving), on the
     * deploying thread; it should be quick.
     */
    public void onChange(Runnable listener) {
        listeners.add(listener);
    }

    /** Calls {@code listener} with a function's name once {@link #remove} has deleted it, before its files go. */
    public void onRemove(java.util.function.Consumer<String> listener) {
        removeListeners.add(listener);
    }

    /**
     * Points {@code alias} at an existing version, atomically (the agent's switch to a smoke-tested version, and its
     * way back).
     *
     * @throws NotFoundException when the function or version does not exist
     */
    public void alias(String function, String alias, int version) {
        alias(function, alias, version, null);
    }

    /**
     * Creates or moves an alias, with a share of its invocations for one more version or none (Lambda's
     * CreateAlias and UpdateAlias).
     *
     * @throws NotFoundException        when the function or a version does not exist
     * @throws IllegalArgumentException naming what is wrong with the alias or its routing
     */
    public void alias(String function, String alias, int version, FunctionState.Routing routing) {
        if (!ALIAS.matcher(alias).matches() || alias.equals(LATEST)) {
            throw new IllegalArgumentException(aliasNotAllowed(alias));
        }
        if (routing != null && !FunctionState.Routing.allowed(routing.weight())) {
            throw new IllegalArgumentException("weight " + routing.weight() + " for version " + routing.version()
                    + " is not allowed; use a share from 0.0 to 1.0");
        }
        if (routing != null && routing.version() == version) {
            throw new IllegalArgumentException("the additional version " + version + " is the alias's own version; "
                    + "name another version or no routing");
        }
        writeLock.lock();
        try {
            FunctionState f = functions.get(function);
            for (int v : routing == null ? List.of(version) : List.of(version, routing.version())) {
                if (f == null || !f.versions().containsKey(v)) {
                    throw new NotFoundException("Function not found: " + function + ":" + v
                            + (f == null ? "" : "; versions: " + f.versions().keySet()));
                }
            }
            sql(c -> upsertAlias(c, function, alias, version, routing, clock.instant()));
            swap(withRouting(f, alias, version, routing));
            LOG.log(Level.INFO, "alias.moved function={0} alias={1} version={2} routing={3}", function, alias,
                    version, routing == null ? "none" : routing.weight() + " to " + routing.version());
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Deletes the oldest versions of a function beyond the newest {@code keep}, unless an alias points at them: their
     * rows, unpacked code and bundle (when no other version uses it).
     *
     * @return the versions deleted
     */
    public List<Integer> prune(String function, int keep) {
        writeLock.lock();
        try {
            FunctionState f = functions.get(function);
            if (f == null) {
                return List.of();
            }
            List<Integer> all = List.copyOf(f.versions().keySet());
            List<Integer> gone = new java.util.ArrayList<>();
            for (int i = 0; i < all.size() - keep; i++) {
                int v = all.get(i);
                if (!f.referenced(v)) {
                    gone.add(v);
                }
            }
            if (gone.isEmpty()) {
                return gone;
            }
            sql(c -> {
                try (PreparedStatement d = c.prepareStatement("DELETE FROM versions WHERE function = ? AND version = ?")) {
                    for (int v : gone) {
                        d.setString(1, function);
                        d.setInt(2, v);
                        d.addBatch();
                    }
                    d.executeBatch();
                }
            });
            TreeMap<Integer, FunctionVersion> versions = new TreeMap<>(f.versions());
            gone.forEach(versions::remove);
            swap(new FunctionState(function, versions, f.aliases(), f.routing()));
            for (int v : gone) {
                String sha = f.versions().get(v).sha256();
                try {
                    Trees.delete(codeDir(function, v));
                    Trees.delete(sidecar(function, v));
                    boolean shared = functions.values().stream().flatMap(s -> s.versions().values().stream())
                            .anyMatch(x -> x.sha256().equals(sha));
                    if (!shared) {
                        Files.deleteIfExists(bundlesDir.resolve(sha + ".zip"));
                    }
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "prune.cleanup-failed function={0}:{1} error={2}", function, v,
                            e.toString());
                }
            }
            LOG.log(Level.INFO, "versions.pruned function={0} versions={1}", function, gone);
            return gone;
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Deletes a function: its versions, aliases and saved test events in one transaction, then its unpacked code and
     * the bundles no other function uses. Listeners hear of it as of any change; invocations already running finish
     * (the pool stops their environments after). Its log lines stay until they age out, as CloudWatch keeps a
     * deleted Lambda's log group; asynchronous invocations still queued for it go to the dead letters as
     * {@code FUNCTION_NOT_FOUND}. A crash between the transaction and the files leaves only files, which the next
     * start removes as orphans.
     *
     * @return the versions deleted; empty when there was no such function
     */
    public List<Integer> remove(String function) {
        writeLock.lock();
        try {
            FunctionState f = functions.get(function);
            if (f == null) {
                return List.of();
            }
            sql(c -> {
                for (String table : List.of("aliases", "versions", "test_events")) {
                    try (PreparedStatement d = c.prepareStatement("DELETE FROM " + table + " WHERE function = ?")) {
                        d.setString(1, function);
                        d.executeUpdate();
                    }
                }
                try (PreparedStatement d = c.prepareStatement("DELETE FROM functions WHERE name = ?")) {
                    d.setString(1, function);
                    d.executeUpdate();
                }
            });
            Map<String, FunctionState> next = new HashMap<>(functions);
            next.remove(function);
            functions = Map.copyOf(next);
            notifyListeners();
            for (java.util.function.Consumer<String> l : removeListeners) {
                try {
                    l.accept(function);
                } catch (RuntimeException e) {
                    LOG.log(Level.ERROR, "registry.listener-failed error={0}", e.toString());
                }
            }
            try {
                Trees.delete(functionsDir.resolve(function));
                for (FunctionVersion v : f.versions().values()) {
                    boolean shared = functions.values().stream().flatMap(s -> s.versions().values().stream())
                            .anyMatch(x -> x.sha256().equals(v.sha256()));
                    if (!shared) {
                        Files.deleteIfExists(bundlesDir.resolve(v.sha256() + ".zip"));
                    }
                }
            } catch (IOException e) {
                LOG.log(Level.WARNING, "function.cleanup-failed function={0} error={1} (the next start removes what "
                        + "is left)", function, e.toString());
            }
            List<Integer> gone = List.copyOf(f.versions().keySet());
            LOG.log(Level.INFO, "function.removed function={0} versions={1}", function, gone);
            return gone;
        } finally {
            writeLock.unlock();
        }
    }

    private Path codeDir(String name, int version) {
        return functionsDir.resolve(name).resolve(Integer.toString(version));
    }

    private static void upsertAlias(Connection c, String function, String alias, int version,
                                    FunctionState.Routing routing, Instant now) throws SQLException {
        try (PreparedStatement a = c.prepareStatement("INSERT INTO aliases (function, name, version, updated_at, "
                + "extra_version, extra_weight) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (function, name) DO UPDATE "
                + "SET version = excluded.version, updated_at = excluded.updated_at, "
                + "extra_version = excluded.extra_version, extra_weight = excluded.extra_weight")) {
            a.setString(1, function);
            a.setString(2, alias);
            a.setInt(3, version);
            a.setLong(4, now.toEpochMilli());
            a.setObject(5, routing == null ? null : routing.version());
            a.setObject(6, routing == null ? null : routing.weight());
            a.executeUpdate();
        }
    }

    private Map<String, FunctionState> loadAll() {
        Map<String, TreeMap<Integer, FunctionVersion>> versions = new HashMap<>();
        Map<String, Map<String, Integer>> aliases = new HashMap<>();
        Map<String, Map<String, FunctionState.Routing>> routing = new HashMap<>();
        sqlRead(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT function, version, sha256, manifest, size, created_at FROM versions");
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    int version = rs.getInt(2);
                    String sha = rs.getString(3);
                    Manifest manifest = ManifestParser.parseStored(rs.getBytes(4), defaults);
                    Path code = codeDir(name, version);
                    restoreCode(code, sha);
                    versions.computeIfAbsent(name, k -> new TreeMap<>()).put(version, new FunctionVersion(name,
                            version, sha, manifest, code, rs.getLong(5), Instant.ofEpochMilli(rs.getLong(6))));
                }
            }
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT function, name, version, extra_version, extra_weight FROM aliases");
                 ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    aliases.computeIfAbsent(rs.getString(1), k -> new HashMap<>()).put(rs.getString(2), rs.getInt(3));
                    int extra = rs.getInt(4);
                    if (!rs.wasNull()) {
                        routing.computeIfAbsent(rs.getString(1), k -> new HashMap<>()).put(rs.getString(2),
                                new FunctionState.Routing(extra, rs.getDouble(5)));
                    }
                }
            }
        });
        Map<String, FunctionState> out = new HashMap<>();
        versions.forEach((name, v) -> out.put(name, new FunctionState(name, v, aliases.getOrDefault(name, Map.of()),
                routing.getOrDefault(name, Map.of()))));
        return out;
    }

    private void restoreCode(Path code, String sha) {
        if (Files.isDirectory(code)) {
            return;
        }
        Path zip = bundlesDir.resolve(sha + ".zip");
        try {
            String actual = Files.exists(zip) ? Bundle.sha256(zip) : "(missing)";
            if (!actual.equals(sha)) {
                LOG.log(Level.ERROR, "registry.bundle-damaged dir={0} bundle={1} sha256={2} -- deploy this "
                        + "version''s bundle again to restore it", code, zip, actual);
                return;
            }
            Path staging = functionsDir.resolve(".staging-" + UUID.randomUUID());
            Bundle.open(zip, limits).unpackTo(staging);
            Files.createDirectories(code.getParent());
            Files.move(staging, code, StandardCopyOption.ATOMIC_MOVE);
            Trees.makeReadOnly(code);
            LOG.log(Level.WARNING, "registry.code-restored dir={0} from={1}", code, zip);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.ERROR, "registry.code-missing dir={0} bundle={1} error={2}", code, zip, e.toString());
        }
    }

    /** Which bundle a version was: {@code functions/<name>/<version>.sha256}, beside its code. */
    private Path sidecar(String name, int version) {
        return functionsDir.resolve(name).resolve(version + ".sha256");
    }

    /** Records, durably, that version {@code version} of {@code name} is the bundle {@code sha}. */
    private void writeSidecar(String name, int version, String sha) throws IOException {
        Durable.write((sha + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8), sidecar(name, version));
    }

    /** What was rebuilt at this start because state.db was missing, empty or corrupt; empty when nothing was. */
    public Optional<String> recovery() {
        return Optional.ofNullable(recovery);
    }

    private boolean hasStoredBundles() throws IOException {
        try (var zips = Files.list(bundlesDir)) {
            return zips.anyMatch(z -> z.getFileName().toString().endsWith(".zip"));
        }
    }

    private record Found(String name, int version, String sha, byte[] manifest, long size, long at) {
    }

    /**
     * Writes versions and {@code live} aliases back into a new state.db from what is on disk: each version's
     * sidecar names its bundle, whose digest is checked; a bundle no sidecar names becomes its function's next
     * version. Other aliases, the asynchronous queue, dead letters and the agent's registration are not in the
     * bundles and are lost.
     *
     * @return what was rebuilt, for the log and status
     */
    private String rebuild() throws IOException {
        List<Found> found = new java.util.ArrayList<>();
        java.util.Set<String> named = new java.util.HashSet<>();
        List<String> skipped = new java.util.ArrayList<>();
        try (var dirs = Files.list(functionsDir)) {
            for (Path dir : dirs.filter(Files::isDirectory).filter(d -> !d.getFileName().toString().startsWith("."))
                    .sorted().toList()) {
                try (var files = Files.list(dir)) {
                    for (Path side : files.filter(f -> f.getFileName().toString().matches("[0-9]{1,9}\\.sha256"))
                            .toList()) {
                        String sha = Files.readString(side).strip();
                        int version = Integer.parseInt(side.getFileName().toString().replace(".sha256", ""));
                        Found f = stored(sha, version, skipped);
                        if (f != null && f.name().equals(dir.getFileName().toString())) {
                            found.add(f);
                            named.add(sha);
                        }
                    }
                }
            }
        }
        List<Path> unnamed;
        try (var zips = Files.list(bundlesDir)) {
            unnamed = zips.filter(z -> z.getFileName().toString().matches("[0-9a-f]{64}\\.zip"))
                    .filter(z -> !named.contains(z.getFileName().toString().replace(".zip", "")))
                    .sorted(java.util.Comparator.comparing(z -> z.toFile().lastModified())).toList();
        }
        for (Path z : unnamed) {
            Found f = stored(z.getFileName().toString().replace(".zip", ""), 0, skipped);
            if (f != null) {
                int next = found.stream().filter(x -> x.name().equals(f.name())).mapToInt(Found::version).max()
                        .orElse(0) + 1;
                Trees.delete(codeDir(f.name(), next)); // not this bundle's code, whatever it is
                writeSidecar(f.name(), next, f.sha());
                found.add(new Found(f.name(), next, f.sha(), f.manifest(), f.size(), f.at()));
            }
        }
        Map<String, Integer> live = new TreeMap<>();
        found.forEach(f -> live.merge(f.name(), f.version(), Math::max));
        sql(c -> {
            try (PreparedStatement fn = c.prepareStatement(
                    "INSERT OR IGNORE INTO functions (name, created_at) VALUES (?, ?)");
                 PreparedStatement v = c.prepareStatement("INSERT INTO versions (function, version, sha256, "
                         + "manifest, size, created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
                for (Found f : found) {
                    fn.setString(1, f.name());
                    fn.setLong(2, f.at());
                    fn.executeUpdate();
                    v.setString(1, f.name());
                    v.setInt(2, f.version());
                    v.setString(3, f.sha());
                    v.setBytes(4, f.manifest());
                    v.setLong(5, f.size());
                    v.setLong(6, f.at());
                    v.executeUpdate();
                }
            }
            for (Map.Entry<String, Integer> e : live.entrySet()) {
                upsertAlias(c, e.getKey(), LIVE, e.getValue(), null, clock.instant());
            }
        });
        return "rebuilt from the stored bundles: " + live.entrySet().stream()
                .map(e -> e.getKey() + " (" + found.stream().filter(f -> f.name().equals(e.getKey())).count()
                        + " versions, live=" + e.getValue() + ")").toList()
                + (skipped.isEmpty() ? "" : "; skipped: " + skipped)
                + "; other aliases, queued and dead-lettered events and the agent's registration were not kept";
    }

    /** A stored bundle whose digest is its name, validated; null (and why, in {@code skipped}) when not. */
    private Found stored(String sha, int version, List<String> skipped) {
        Path zip = bundlesDir.resolve(sha + ".zip");
        try {
            if (!Files.exists(zip) || !Bundle.sha256(zip).equals(sha)) {
                skipped.add(zip.getFileName() + ": missing or damaged");
                return null;
            }
            Bundle b = Bundle.open(zip, limits);
            return new Found(b.manifest().name(), version, sha, b.manifestJson(), b.size(),
                    Files.getLastModifiedTime(zip).toMillis());
        } catch (RuntimeException | IOException e) {
            skipped.add(zip.getFileName() + ": " + e.getMessage());
            return null;
        }
    }

    /**
     * Deletes what no version owns: code directories and sidecars of versions not in state.db (a deploy killed
     * before it recorded its version, a prune killed half-way) and bundles no version uses.
     */
    private void removeOrphans() {
        try {
            java.util.Set<String> shas = new java.util.HashSet<>();
            for (FunctionState f : functions.values()) {
                for (FunctionVersion v : f.versions().values()) {
                    shas.add(v.sha256());
                    if (!Files.exists(sidecar(v.function(), v.version())) && Files.isDirectory(v.codeDir())) {
                        // a data directory from before sidecars: what a later rebuild would need
                        writeSidecar(v.function(), v.version(), v.sha256());
                    }
                }
            }
            try (var dirs = Files.list(functionsDir)) {
                for (Path dir : dirs.filter(d -> !d.getFileName().toString().startsWith(".")).toList()) {
                    FunctionState f = functions.get(dir.getFileName().toString());
                    if (f == null) {
                        Trees.delete(dir);
                        LOG.log(Level.WARNING, "registry.orphan-removed path={0}", dir);
                        continue;
                    }
                    try (var entries = Files.list(dir)) {
                        for (Path e : entries.toList()) {
                            String n = e.getFileName().toString().replace(".sha256", "");
                            boolean known = n.matches("[0-9]{1,9}") && f.versions().containsKey(Integer.parseInt(n));
                            if (!known) {
                                Trees.delete(e);
                                LOG.log(Level.WARNING, "registry.orphan-removed path={0}", e);
                            }
                        }
                    }
                }
            }
            try (var zips = Files.list(bundlesDir)) {
                for (Path z : zips.toList()) {
                    if (!shas.contains(z.getFileName().toString().replace(".zip", ""))) {
                        Files.deleteIfExists(z);
                        LOG.log(Level.WARNING, "registry.orphan-removed path={0}", z);
                    }
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "registry.orphan-scan-failed error={0}", e.toString());
        }
    }

    @FunctionalInterface
    private interface SqlWork {
        void run(Connection c) throws SQLException;
    }

    private void sql(SqlWork work) {
        database.tx(c -> {
            work.run(c);
            return null;
        });
    }

    private void sqlRead(SqlWork work) {
        database.read(c -> {
            work.run(c);
            return null;
        });
    }
}
