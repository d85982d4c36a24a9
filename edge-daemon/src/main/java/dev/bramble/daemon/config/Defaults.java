package dev.bramble.daemon.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;

/** Defaults found on the machine: options whose help says how, not what (it must not depend on where it ran). */
public final class Defaults {
    private Defaults() {
    }

    /** The host name, as a name allows it (letters, digits, '-', '_', '.'), at most 55 characters. */
    public static String hostName() {
        try {
            String h = InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9_.-]", "-");
            return h.length() > 55 ? h.substring(0, 55) : h;
        } catch (UnknownHostException e) {
            return "device";
        }
    }

    /** $XDG_STATE_HOME/bramble, else ~/.local/state/bramble. */
    public static String dataDir() {
        String state = System.getenv("XDG_STATE_HOME");
        Path base = state == null || state.isBlank() ? Path.of(System.getProperty("user.home"), ".local", "state")
                : Path.of(state);
        return base.resolve("bramble").toString();
    }

    /** The java of the JDK running the daemon. */
    public static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** lib/runtime/* of the installation. */
    public static String runtimeClasspath() {
        String home = System.getProperty("bramble.home");
        return home == null ? "lib/runtime/*" : Path.of(home, "lib", "runtime").resolve("*").toString();
    }
}
