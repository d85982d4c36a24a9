package dev.bramble.sandbox;

/**
 * The unprivileged identity a process runs as.
 *
 * @param uid user id, never 0
 * @param gid group id, never 0
 */
public record Identity(int uid, int gid) {
    public Identity {
        if (uid <= 0 || gid <= 0) {
            throw new IllegalArgumentException("a contained process never runs as root: uid " + uid + ", gid " + gid);
        }
    }
}
