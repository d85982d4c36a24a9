package dev.bramble.daemon;

import dev.bramble.sandbox.Sandbox;
import dev.bramble.sandbox.SandboxException;
import dev.bramble.sandbox.SandboxSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;

/** The {@code brambled} command line. */
public final class Main {
    private static final String USAGE = """
            usage: brambled [--config FILE]
                   brambled [--config FILE] --print-profile
                   brambled --help | --help-config[=markdown] | --version

            Runs the Bramble device daemon. Without --config it runs on embedded defaults
            (brambled --help-config lists every option with its default). --print-profile shows the
            device profile chosen for this machine, why, and the values in effect.
            """;

    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        // Before anything logs: the JDK reads this once, when logging starts.
        if (System.getProperty("java.util.logging.manager") == null) {
            System.setProperty("java.util.logging.manager", StopLogManager.class.getName());
        }
        System.exit(run(args));
    }

    public static SandboxSettings sandboxSettings(DaemonConfig config) {
        DaemonConfig.Sandboxing s = config.sandbox();
        return new SandboxSettings(s.cgroupRoot(), s.cgroupName(), s.bwrap(), s.setpriv(), s.nft(), s.uidBase(),
                s.uidBase() + s.uidCount() - 1, s.requireIsolation());
    }

    /**
     * Under systemd ({@code RuntimeDirectory=bramble}), the file whose appearance says the daemon is ready: the
     * unit's {@code ExecStartPost} waits for it, so systemd sees readiness without sd_notify, which a JVM cannot
     * send (it needs a datagram Unix socket).
     */
    private static Path readyFile() {
        String dir = System.getenv("RUNTIME_DIRECTORY");
        return dir == null || dir.isBlank() ? null : Path.of(dir.split(":")[0], "ready");
    }

    /** What --print-profile prints: the choice and the values in effect after the configuration's overrides. */
    static String profile(DaemonConfig c) {
        return dev.bramble.daemon.profile.DeviceProfiles.print(c.device())
                + "in effect (the configuration overrides the profile key by key):\n"
                + "  daemon.heap-mb " + c.daemonHeapMb() + "\n"
                + "  pool.memory-budget-mb " + c.memoryBudgetMb() + "\n"
                + "  pool.max-environments " + c.maxEnvironments() + "\n"
                + "  pool.idle-ttl-seconds " + c.idleTtlSeconds() + "\n"
                + "  functions.default-memory-mb " + c.defaultMemoryMb() + "\n"
                + "  functions.default-tmp-mb " + c.defaultTmpMb() + "\n"
                + "  runtime.jvm-options " + c.jvmOptions() + "\n";
    }

    /**
     * The launcher starts the JVM before any configuration is read, so the daemon's own heap from the profile (or
     * {@code daemon.heap-mb}) is left for it in a file it reads at the next start.
     */
    private static void writeDaemonJvmOptions(DaemonConfig c) {
        String file = System.getProperty("bramble.jvm-options-file");
        if (file == null || file.isBlank()) {
            return;
        }
        String wanted = "-Xmx" + c.daemonHeapMb() + "m\n";
        try {
            Path p = Path.of(file);
            if (!Files.exists(p) || !Files.readString(p).equals(wanted)) {
                Files.writeString(p, wanted);
            }
        } catch (java.io.IOException e) {
            System.err.println("brambled: cannot write " + file + ": " + e.getMessage());
        }
    }

    static int run(String[] args) throws InterruptedException {
        Path configFile = null;
        boolean printProfile = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--print-profile" -> printProfile = true;
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    return 0;
                }
                case "--help-config" -> {
                    System.out.print(DaemonConfig.help());
                    return 0;
                }
                case "--help-config=markdown" -> {
                    System.out.print(DaemonConfig.markdown()); // docs/operators.md's table of options
                    return 0;
                }
                case "--version" -> {
                    System.out.println("brambled " + Daemon.version());
                    return 0;
                }
                case "--config" -> {
                    if (i + 1 >= args.length) {
                        System.err.println("brambled: --config needs a FILE\n" + USAGE);
                        return 2;
                    }
                    configFile = Path.of(args[++i]);
                }
                default -> {
                    System.err.println("brambled: unknown argument '" + args[i] + "'\n" + USAGE);
                    return 2;
                }
            }
        }
        DaemonConfig config;
        try {
            if (configFile != null && !Files.isReadable(configFile)) {
                System.err.println("brambled: cannot read config file " + configFile);
                return 2;
            }
            config = configFile == null ? DaemonConfig.defaults() : DaemonConfig.load(configFile);
        } catch (ConfigException e) {
            System.err.println("brambled: " + e.getMessage());
            return 2;
        }
        if (printProfile) {
            System.out.print(profile(config));
            return 0;
        }
        writeDaemonJvmOptions(config);
        Sandbox sandbox;
        try {
            sandbox = Sandbox.create(sandboxSettings(config));
        } catch (SandboxException e) {
            System.err.println("brambled: " + e.getMessage());
            return 3;
        }
        Daemon daemon;
        try {
            daemon = Daemon.start(config, sandbox, Clock.systemUTC());
        } catch (dev.bramble.daemon.trigger.ListenerException e) {
            sandbox.close();
            System.err.println("brambled: " + e.getMessage());
            return dev.bramble.daemon.trigger.ListenerException.EXIT_CODE;
        } catch (RuntimeException e) {
            sandbox.close();
            throw e;
        }
        Path ready = readyFile();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (ready != null) {
                try {
                    Files.deleteIfExists(ready);
                } catch (java.io.IOException e) {
                    // the runtime directory goes with the service anyway
                }
            }
            daemon.close();
            sandbox.close();
            StopLogManager.resetAfterStop();
            stopped.countDown();
        }, "brambled-shutdown"));
        Watchdog watchdog = Watchdog.startIfAsked(System.getenv(), config.httpBind(), daemon.port(),
                List.of("systemd-notify", "WATCHDOG=1"));
        if (ready != null) {
            try {
                Files.writeString(ready, daemon.port() + "\n");
            } catch (java.io.IOException e) {
                System.err.println("brambled: cannot write " + ready + ": " + e.getMessage());
            }
        }
        stopped.await();
        if (watchdog != null) {
            watchdog.close();
        }
        return 0;
    }
}
