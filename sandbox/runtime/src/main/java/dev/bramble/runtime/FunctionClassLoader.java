package dev.bramble.runtime;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Loads a function's code from its bundle's {@code classes/} (if present), its top (Lambda's zip layout) and
 * {@code lib/*.jar}, in that order.
 *
 * <p>The function sees the JDK, the Lambda core interfaces ({@code com.amazonaws.services.lambda.runtime}
 * and its {@code logging} package) from the runtime, and its own jars. It never sees the runtime's Jackson,
 * so a function may bring any Jackson it likes; a copy of aws-lambda-java-core in its jars is shadowed by the
 * runtime's, which is what makes the {@code Context} the runtime passes assignable to the handler's parameter.
 */
final class FunctionClassLoader extends URLClassLoader {
    static {
        registerAsParallelCapable();
    }

    private FunctionClassLoader(URL[] urls, ClassLoader parent) {
        super("function", urls, parent);
    }

    static FunctionClassLoader create(Path taskRoot) throws IOException {
        List<URL> urls = new ArrayList<>();
        Path classes = taskRoot.resolve("classes");
        if (Files.isDirectory(classes)) {
            urls.add(classes.toUri().toURL());
        }
        // The task root itself, as Lambda's Java runtime has it: Lambda's zip layout keeps classes at the top.
        urls.add(taskRoot.toUri().toURL());
        Path lib = taskRoot.resolve("lib");
        if (Files.isDirectory(lib)) {
            try (Stream<Path> jars = Files.list(lib)) {
                for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                    urls.add(jar.toUri().toURL());
                }
            }
        }
        return new FunctionClassLoader(urls.toArray(URL[]::new),
                new CoreOnly(FunctionClassLoader.class.getClassLoader()));
    }

    /** The parent: the platform's classes plus the Lambda core interfaces, nothing else of the runtime. */
    private static final class CoreOnly extends ClassLoader {
        private static final String CORE = "com.amazonaws.services.lambda.runtime.";
        private static final String CORE_LOGGING = "com.amazonaws.services.lambda.runtime.logging.";
        private final ClassLoader runtime;

        CoreOnly(ClassLoader runtime) {
            super("lambda-core", ClassLoader.getPlatformClassLoader());
            this.runtime = runtime;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (isCore(name)) {
                return runtime.loadClass(name);
            }
            return super.loadClass(name, resolve);
        }

        private static boolean isCore(String name) {
            if (name.startsWith(CORE_LOGGING)) {
                return name.indexOf('.', CORE_LOGGING.length()) < 0;
            }
            return name.startsWith(CORE) && name.indexOf('.', CORE.length()) < 0;
        }
    }
}
