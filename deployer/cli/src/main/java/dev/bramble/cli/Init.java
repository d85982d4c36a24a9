package dev.bramble.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

/**
 * {@code bramble init NAME}: a Maven project for one Lambda handler that {@code mvn package} builds, tests and
 * turns into a Bramble bundle, with a sample event for {@code bramble local invoke}.
 */
@Command(name = "init", description = {"Writes a Maven project for a Java Lambda function: a handler, its unit test, "
        + "a sample event and function.json; `mvn package` makes target/NAME-bundle.zip."})
final class Init implements Callable<Integer> {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern PACKAGE = Pattern.compile("[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)*");
    private static final String TEMPLATES = "/dev/bramble/cli/templates/init/";

    @Parameters(paramLabel = "NAME", description = "the function's name: 1 to 64 letters, digits, '-' or '_'")
    String name;
    @Option(names = "--dir", description = "where to write it (default: ./NAME); must not exist or be empty")
    Path dir;
    @Option(names = "--group", defaultValue = "com.example", description = "the Maven groupId (default: "
            + "${DEFAULT-VALUE})")
    String group;
    @Option(names = "--package", description = "the handler's Java package (default: GROUP.NAME, made a valid "
            + "package name)")
    String javaPackage;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (!NAME.matcher(name).matches()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "NAME '" + name + "' is not allowed; use 1 "
                    + "to 64 letters, digits, '-' or '_' (it is the function's name on the device)");
        }
        String pkg = javaPackage != null ? javaPackage : group + "." + identifier(name);
        if (!PACKAGE.matcher(pkg).matches() || !PACKAGE.matcher(group).matches()
                || !javax.lang.model.SourceVersion.isName(pkg)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "package '" + pkg + "' (group '" + group
                    + "') is not allowed; use lower-case Java identifiers (not keywords) separated by dots, such as "
                    + "com.example.thermo");
        }
        Path root = (dir != null ? dir : Path.of(name)).toAbsolutePath().normalize();
        if (Files.exists(root) && (!Files.isDirectory(root) || hasEntries(root))) {
            throw new CommandLine.ParameterException(spec.commandLine(), root + " exists and is not an empty "
                    + "directory; choose another --dir");
        }
        String path = pkg.replace('.', '/');
        Map<String, String> values = Map.of("{{name}}", name, "{{group}}", group, "{{package}}", pkg,
                "{{path}}", path);
        Map<String, String> files = new LinkedHashMap<>();
        files.put("pom.xml", "pom.xml");
        files.put("function.json", "function.json");
        files.put("README.md", "README.md");
        files.put(".gitignore", "gitignore");
        files.put("src/assembly/bundle.xml", "bundle.xml");
        files.put("events/reading.json", "event.json");
        files.put("src/main/java/" + path + "/Handler.java", "Handler.java");
        files.put("src/main/java/" + path + "/Reading.java", "Reading.java");
        files.put("src/test/java/" + path + "/HandlerTest.java", "HandlerTest.java");
        for (Map.Entry<String, String> f : files.entrySet()) {
            Path target = root.resolve(f.getKey());
            Files.createDirectories(target.getParent());
            Files.writeString(target, fill(template(f.getValue()), values));
        }
        Bramble.root(spec).print(Map.of("dir", root.toString(), "function", name, "handler", pkg + ".Handler"),
                "Wrote " + root + "\n\n  cd " + root + "\n  mvn package\n  bramble local invoke target/" + name
                        + "-bundle.zip --event events/reading.json\n");
        return 0;
    }

    /** The name as a Java package segment: lower case, '-' as '_', never starting with a digit, never a keyword. */
    static String identifier(String name) {
        String id = name.toLowerCase(Locale.ROOT).replace('-', '_');
        id = Character.isDigit(id.charAt(0)) ? "fn" + id : id;
        return javax.lang.model.SourceVersion.isKeyword(id) || id.equals("_") ? id + "_fn" : id;
    }

    private static boolean hasEntries(Path dir) throws IOException {
        try (var entries = Files.list(dir)) {
            return entries.findAny().isPresent();
        }
    }

    private static String template(String file) {
        try (InputStream in = Init.class.getResourceAsStream(TEMPLATES + file)) {
            if (in == null) {
                throw new IllegalStateException("the CLI's jar lacks its template " + file);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String fill(String text, Map<String, String> values) {
        String out = text;
        for (Map.Entry<String, String> v : values.entrySet()) {
            out = out.replace(v.getKey(), v.getValue());
        }
        return out;
    }
}
