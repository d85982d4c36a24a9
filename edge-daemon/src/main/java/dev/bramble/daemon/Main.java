package dev.bramble.daemon;

import dev.bramble.sandbox.Sandbox;
import dev.bramble.sandbox.SandboxException;
import dev.bramble.sandbox.SandboxSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;

/** The {@code brambled} command line. */
public final class Main {
    private static final String USAGE = """
            usage: brambled [--config FILE]
                   brambled --help | --help-config | --version

            Runs the Bramble device daemon. Without --config it runs on embedded defaults
            (brambled --help-config lists every option with its default).
            """;

    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        System.exit(run(args));
    }

    static SandboxSettings sandboxSettings(DaemonConfig config) {
        DaemonConfig.Sandboxing s = config.sandbox();
        return new SandboxSettings(s.cgroupRoot(), s.cgroupName(), s.bwrap(), s.setpriv(), s.requireIsolation());
    }

    static int run(String[] args) throws InterruptedException {
        Path configFile = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    return 0;
                }
                case "--help-config" -> {
                    System.out.print(DaemonConfig.help());
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
        } catch (RuntimeException e) {
            sandbox.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            daemon.close();
            sandbox.close();
            stopped.countDown();
        }, "brambled-shutdown"));
        stopped.await();
        return 0;
    }
}
