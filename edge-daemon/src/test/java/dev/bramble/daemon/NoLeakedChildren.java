package dev.bramble.daemon;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;

import static org.awaitility.Awaitility.await;
import static java.util.concurrent.TimeUnit.SECONDS;

/**
 * Fails a test class that leaves a child process of this JVM running after its daemons stopped: every
 * environment must die with the daemon that started it.
 */
final class NoLeakedChildren implements AfterAllCallback {
    @Override
    public void afterAll(ExtensionContext context) {
        await("child processes of the test JVM to exit").atMost(10, SECONDS).until(() -> children().isEmpty());
    }

    static List<String> children() {
        return ProcessHandle.current().children().filter(ProcessHandle::isAlive)
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList();
    }
}
