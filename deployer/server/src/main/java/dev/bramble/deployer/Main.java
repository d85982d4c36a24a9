package dev.bramble.deployer;

import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;

/** {@code bramble-deployer [--config FILE]}. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        Path config = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config" -> {
                    if (i + 1 >= args.length) {
                        System.err.println("bramble-deployer: --config needs a FILE");
                        System.exit(2);
                    }
                    config = Path.of(args[++i]);
                }
                case "--help", "-h" -> {
                    System.out.println("usage: bramble-deployer [--config FILE]   (docs/deploying.md)");
                    return;
                }
                default -> {
                    System.err.println("bramble-deployer: unknown argument '" + args[i] + "'");
                    System.exit(2);
                }
            }
        }
        DeployerConfig c;
        try {
            c = DeployerConfig.load(config);
        } catch (IllegalArgumentException e) {
            System.err.println("bramble-deployer: " + e.getMessage());
            System.exit(2);
            return;
        }
        Deployer d = Deployer.start(c, Clock.systemUTC());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            d.close();
            stopped.countDown();
        }, "deployer-shutdown"));
        stopped.await();
    }
}
