package dev.bramble.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;

/**
 * Fails a test class that leaves behind what it started: a child process of the test JVM (a daemon's
 * environment, a mosquitto, a PostgreSQL, a brambled) or a non-daemon thread that was not running before the class.
 * Every module that starts processes or servers registers it for all its classes (JUnit's extension
 * auto-detection, in its {@code junit-platform.properties}); a class's own helpers stopped in its
 * {@code @AfterAll} are gone by the time this looks.
 */
public final class NoLeaks implements BeforeAllCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(NoLeaks.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NS).put("threads", nonDaemonThreads().stream().map(Thread::threadId)
                .collect(Collectors.toSet()));
    }

    @Override
    public void afterAll(ExtensionContext context) {
        await("child processes of the test JVM to exit (" + context.getDisplayName() + ")")
                .atMost(Duration.ofSeconds(10)).pollInSameThread()
                .untilAsserted(() -> none("child processes left running", children()));
        @SuppressWarnings("unchecked")
        Set<Long> before = context.getStore(NS).get("threads", Set.class);
        await("non-daemon threads started by " + context.getDisplayName() + " to end")
                .atMost(Duration.ofSeconds(10)).pollInSameThread().untilAsserted(() -> none(
                        "non-daemon threads left running",
                        leakedThreads(before)));
    }

    private static void none(String what, List<String> found) {
        if (!found.isEmpty()) {
            throw new AssertionError(what + ": " + found);
        }
    }

    /** Child processes of this JVM still alive, with their command lines: what the message shows. */
    public static List<String> children() {
        return ProcessHandle.current().children().filter(ProcessHandle::isAlive)
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList();
    }

    /** Non-daemon threads alive now that were not in {@code before}, with their names. */
    static List<String> leakedThreads(Set<Long> before) {
        return nonDaemonThreads().stream().filter(t -> before == null || !before.contains(t.threadId()))
                .map(t -> t.getName() + " (" + t.getState() + ")").toList();
    }

    private static List<Thread> nonDaemonThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && !t.isDaemon() && !t.isVirtual() && t != Thread.currentThread()).toList();
    }
}
