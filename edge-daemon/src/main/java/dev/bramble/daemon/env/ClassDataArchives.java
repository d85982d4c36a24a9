package dev.bramble.daemon.env;

import dev.bramble.daemon.function.FunctionVersion;

import java.lang.System.Logger.Level;

/**
 * Makes sure each function version gets its class-data archive soon after deployment, and again after a cold start
 * finds none: a background training run dumps it and sends it over its channel; the daemon stores it.
 */
public final class ClassDataArchives {
    private static final System.Logger LOG = System.getLogger(ClassDataArchives.class.getName());
    private final Launcher launcher;
    private final Environments environments;
    private final boolean enabled;

    /** Versions being trained now: one training at a time per version. */
    private final java.util.Set<String> training = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public ClassDataArchives(Launcher launcher, Environments environments, boolean enabled) {
        this.launcher = launcher;
        this.environments = environments;
        this.enabled = enabled;
        // A version that lost its archive (discarded as damaged, or made for another JDK) is trained again.
        environments.afterColdStart(this::afterDeploy);
    }

    /**
     * Trains the version's archive in the background if it has none (a training run sends it over its channel;
     * no function JVM writes on the data disk). Never blocks, never fails the caller.
     */
    public void afterDeploy(FunctionVersion v) {
        if (!enabled || v.manifest().runtimeKind().runtimeApi() || launcher.hasArchive(v) || !training.add(v.label() + "@" + v.sha256())) {
            return;
        }
        Thread.ofVirtual().name("bramble-archive-" + v.label()).start(() -> {
            long t0 = System.nanoTime();
            try {
                if (environments.train(v)) {
                    LOG.log(Level.INFO, "archive.trained function={0} ms={1} exists={2}", v.label(),
                            (System.nanoTime() - t0) / 1_000_000, launcher.hasArchive(v));
                }
            } catch (InitFailedException | RuntimeException e) {
                LOG.log(Level.WARNING, "archive.training-failed function={0} error={1}", v.label(), e.getMessage());
            } finally {
                training.remove(v.label() + "@" + v.sha256());
            }
        });
    }
}
