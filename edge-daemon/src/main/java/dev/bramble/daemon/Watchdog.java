package dev.bramble.daemon;

import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import dev.bramble.daemon.work.Worker;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * systemd's watchdog ({@code WatchdogSec=} in the unit): while the daemon answers its own health check over HTTP,
 * the way every client reaches it, it tells systemd {@code WATCHDOG=1} at a third of the timeout; a daemon that
 * stops answering (its carriers pinned, a deadlock) stops telling, and systemd restarts it. A JVM cannot send
 * sd_notify's datagram itself, so {@code systemd-notify} does (the unit sets {@code NotifyAccess=all}).
 * Runs on a {@link Worker}, a platform thread of its own: it blocks on the check and on the helper.
 */
final class Watchdog implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Watchdog.class.getName());

    private final Duration interval;
    private final BooleanSupplier healthy;
    private final List<String> notify;
    private int missed;
    private Worker worker;

    private Watchdog(Duration interval, BooleanSupplier healthy, List<String> notify) {
        this.interval = interval;
        this.healthy = healthy;
        this.notify = notify;
    }

    private Watchdog begin() {
        worker = Worker.start("brambled-watchdog", this::check);
        return this;
    }

    private Duration check() {
        if (healthy.getAsBoolean()) {
            missed = 0;
            ping(notify);
        } else if (++missed == 1 || missed % 10 == 0) {
            LOG.log(Level.ERROR, "watchdog.unhealthy missed={0} -- not telling systemd; it restarts the daemon "
                    + "once WatchdogSec passes", missed);
        }
        return interval;
    }

    /**
     * Starts the watchdog when systemd asked for one ({@code WATCHDOG_USEC} for this process, and
     * {@code NOTIFY_SOCKET}); otherwise returns null.
     */
    static Watchdog startIfAsked(Map<String, String> env, String host, int port, List<String> notify) {
        String usec = env.get("WATCHDOG_USEC");
        String pid = env.get("WATCHDOG_PID");
        if (usec == null || env.get("NOTIFY_SOCKET") == null
                || pid != null && !pid.equals(Long.toString(ProcessHandle.current().pid()))) {
            return null;
        }
        Duration timeout;
        try {
            timeout = Duration.ofNanos(Long.parseLong(usec) * 1000);
        } catch (NumberFormatException e) {
            LOG.log(Level.WARNING, "watchdog.ignored WATCHDOG_USEC={0}", usec);
            return null;
        }
        String probeHost = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
        URI health = URI.create("http://" + (probeHost.contains(":") ? "[" + probeHost + "]" : probeHost) + ":"
                + port + "/v1/health");
        Duration interval = timeout.dividedBy(3);
        Watchdog w = new Watchdog(interval, () -> answers(health, interval), notify).begin();
        LOG.log(Level.INFO, "watchdog.started timeout_s={0} interval_ms={1} check={2}", timeout.toSeconds(),
                interval.toMillis(), health);
        return w;
    }

    /** For tests: a watchdog over any check. */
    static Watchdog start(Duration interval, BooleanSupplier healthy, List<String> notify) {
        return new Watchdog(interval, healthy, notify).begin();
    }

    /** Whether the daemon answers {@code /v1/health} with 200 within {@code limit}. */
    static boolean answers(URI health, Duration limit) {
        try (HttpClient client = HttpClient.newBuilder().connectTimeout(limit).build()) {
            return client.send(HttpRequest.newBuilder(health).timeout(limit).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void ping(List<String> notify) {
        try {
            Process p = new ProcessBuilder(notify).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (java.io.IOException e) {
            LOG.log(Level.WARNING, "watchdog.notify-failed command={0} error={1}", notify, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        worker.close();
    }
}
