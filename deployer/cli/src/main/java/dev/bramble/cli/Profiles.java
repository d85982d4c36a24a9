package dev.bramble.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

import java.io.IOException;
import java.net.URI;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Named deployers in the operator's config file, so no one exports variables by hand:
 * <pre>
 * default: lab
 * profiles:
 *   lab:
 *     deployer: http://127.0.0.1:8700
 *     token-file: /var/lib/bramble-deployer/admin.token
 *     ca-file: ~/.config/bramble/fleet-ca.pem      # optional: a private CA for https
 * </pre>
 * The file is {@code $BRAMBLE_CONFIG}, else {@code $XDG_CONFIG_HOME/bramble/config.yaml}, else
 * {@code ~/.config/bramble/config.yaml}; it holds no secret itself, only where the token file is. Every problem in
 * it is listed at once, naming the file and what is allowed.
 */
final class Profiles {
    static final String DEFAULT_DEPLOYER = "http://127.0.0.1:8700";
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    private static final Set<String> TOP = Set.of("default", "profiles");
    private static final Set<String> KEYS = Set.of("deployer", "token-file", "ca-file");

    /** One deployer: its URL, the file its admin token is in, the CA its certificate chains to (any may be absent). */
    record Profile(String name, String deployer, Path tokenFile, Path caFile) {
    }

    private final Path file;
    private final String defaultName;
    private final Map<String, Profile> profiles;

    private Profiles(Path file, String defaultName, Map<String, Profile> profiles) {
        this.file = file;
        this.defaultName = defaultName;
        this.profiles = profiles;
    }

    /** The config file this environment names. */
    static Path location(Map<String, String> env) {
        String explicit = env.get("BRAMBLE_CONFIG");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String xdg = env.get("XDG_CONFIG_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".config");
        return base.resolve("bramble").resolve("config.yaml");
    }

    /** Reads the file; one that does not exist holds no profiles. */
    static Profiles read(Path file) {
        if (!Files.exists(file)) {
            return new Profiles(file, null, new LinkedHashMap<>());
        }
        JsonNode root;
        try {
            root = YAML.readTree(file.toFile());
        } catch (JacksonException e) {
            throw problems(file, List.of("it is not YAML: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ")" : "")));
        } catch (IOException e) {
            throw new Api.Failure(Bramble.EXIT_FAILED, "cannot read " + file + ": " + e.getMessage());
        }
        List<String> problems = new ArrayList<>();
        Map<String, Profile> profiles = new LinkedHashMap<>();
        String defaultName = null;
        if (root == null || root.isMissingNode() || root.isNull()) {
            return new Profiles(file, null, profiles);
        }
        if (!root.isObject()) {
            throw problems(file, List.of("it must be a mapping with 'default' and 'profiles'"));
        }
        unknown(root, TOP, "", problems);
        JsonNode d = root.path("default");
        if (!d.isMissingNode() && !d.isNull()) {
            if (!d.isTextual()) {
                problems.add("default must be a profile's name");
            } else {
                defaultName = d.asText();
            }
        }
        JsonNode ps = root.path("profiles");
        if (!ps.isMissingNode() && !ps.isNull() && !ps.isObject()) {
            problems.add("profiles must be a mapping of names to profiles");
        } else if (ps.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = ps.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                String at = "profiles." + name;
                if (!NAME.matcher(name).matches()) {
                    problems.add(at + ": the name is not allowed; use 1 to 64 letters, digits, '.', '-' or '_'");
                    continue;
                }
                JsonNode p = e.getValue();
                if (!p.isObject()) {
                    problems.add(at + " must be a mapping with deployer, token-file and ca-file");
                    continue;
                }
                unknown(p, KEYS, at + ".", problems);
                String deployer = text(p, "deployer", at, problems);
                if (deployer != null) {
                    String bad = urlProblem(deployer);
                    if (bad != null) {
                        problems.add(at + ".deployer '" + deployer + "' " + bad);
                    }
                }
                String tokenFile = text(p, "token-file", at, problems);
                String caFile = text(p, "ca-file", at, problems);
                profiles.put(name, new Profile(name, deployer, tokenFile == null ? null : path(file, tokenFile),
                        caFile == null ? null : path(file, caFile)));
            }
        }
        if (defaultName != null && !profiles.containsKey(defaultName) && problems.isEmpty()) {
            problems.add("default names profile '" + defaultName + "', which is not under profiles "
                    + profiles.keySet());
        }
        if (!problems.isEmpty()) {
            throw problems(file, problems);
        }
        return new Profiles(file, defaultName, profiles);
    }

    /**
     * The profile asked for by name, else the file's default, else none.
     *
     * @throws Api.Failure when a name is given that the file does not hold
     */
    Optional<Profile> select(String name) {
        if (name == null || name.isBlank()) {
            return Optional.ofNullable(defaultName).map(profiles::get);
        }
        Profile p = profiles.get(name);
        if (p == null) {
            throw new Api.Failure(Bramble.EXIT_USAGE, "no profile '" + name + "' in " + file + (profiles.isEmpty()
                    ? "; add one with: bramble profile set " + name + " --url URL --token-file FILE"
                    : "; it has " + String.join(", ", profiles.keySet())));
        }
        return Optional.of(p);
    }

    Map<String, Profile> all() {
        return profiles;
    }

    String defaultName() {
        return defaultName;
    }

    Path file() {
        return file;
    }

    /** This file with {@code p} added or replaced (and made the default if asked), written whole. */
    Profiles with(Profile p, boolean makeDefault) throws IOException {
        Map<String, Profile> next = new LinkedHashMap<>(profiles);
        next.put(p.name(), p);
        String def = makeDefault || defaultName == null ? p.name() : defaultName;
        ObjectNode root = YAML.createObjectNode();
        root.put("default", def);
        ObjectNode ps = root.putObject("profiles");
        for (Profile q : next.values()) {
            ObjectNode n = ps.putObject(q.name());
            if (q.deployer() != null) {
                n.put("deployer", q.deployer());
            }
            if (q.tokenFile() != null) {
                n.put("token-file", q.tokenFile().toString());
            }
            if (q.caFile() != null) {
                n.put("ca-file", q.caFile().toString());
            }
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, YAML.writeValueAsBytes(root));
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        return new Profiles(file, def, next);
    }

    /** The token in a profile's token file, with a warning when others may read it. */
    static String token(Profile p, java.io.PrintWriter err) {
        Path f = p.tokenFile();
        try {
            try {
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(f);
                if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)) {
                    err.println("bramble: warning: " + f + " (profile " + p.name() + ") can be read by other users;"
                            + " chmod 600 it");
                }
            } catch (UnsupportedOperationException notPosix) {
                // nothing to check
            }
            String t = Files.readString(f).strip();
            if (t.isEmpty()) {
                throw new Api.Failure(Bramble.EXIT_USAGE, "the token file " + f + " of profile " + p.name()
                        + " is empty");
            }
            return t;
        } catch (IOException e) {
            throw new Api.Failure(Bramble.EXIT_USAGE, "cannot read the token file " + f + " of profile " + p.name()
                    + " (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
    }

    /** Why a deployer URL is not usable, or null. */
    static String urlProblem(String url) {
        try {
            URI u = new URI(url);
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
                return "is not allowed; use http://HOST:PORT or https://HOST:PORT";
            }
            if (u.getHost() == null) {
                return "has no host; use http://HOST:PORT or https://HOST:PORT";
            }
            return null;
        } catch (java.net.URISyntaxException e) {
            return "is not a URL (" + e.getReason() + "); use http://HOST:PORT or https://HOST:PORT";
        }
    }

    private static Path path(Path file, String value) {
        if (value.equals("~") || value.startsWith("~/")) {
            return Path.of(System.getProperty("user.home") + value.substring(1));
        }
        Path p = Path.of(value);
        return p.isAbsolute() ? p : file.toAbsolutePath().getParent().resolve(p).normalize();
    }

    private static String text(JsonNode p, String key, String at, List<String> problems) {
        JsonNode v = p.path(key);
        if (v.isMissingNode() || v.isNull()) {
            return null;
        }
        if (!v.isTextual() || v.asText().isBlank()) {
            problems.add(at + "." + key + " must be a non-empty string");
            return null;
        }
        return v.asText();
    }

    private static void unknown(JsonNode n, Set<String> allowed, String at, List<String> problems) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!allowed.contains(k)) {
                problems.add(at + k + " is not a known key; allowed: " + String.join(", ", allowed.stream().sorted()
                        .toList()));
            }
        }
    }

    private static Api.Failure problems(Path file, List<String> problems) {
        return new Api.Failure(Bramble.EXIT_USAGE, file + ": " + String.join("; ", problems));
    }
}
