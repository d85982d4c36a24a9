package dev.bramble.daemon.trigger;

/**
 * A listener of the daemon's could not start (the port is taken, the address is not this host's): the daemon does
 * not start without it, and says which one and why. brambled exits with {@link #EXIT_CODE}.
 */
public final class ListenerException extends RuntimeException {
    /** brambled's exit code when a listener cannot start. */
    public static final int EXIT_CODE = 4;

    /**
     * @param listener what it is, by its configuration keys ({@code http.bind/http.port})
     * @param address  the address and port asked for
     * @param cause    why, when known
     */
    public ListenerException(String listener, String address, Throwable cause) {
        super(listener + ": cannot listen on " + address + (cause == null ? "" : " (" + cause.getMessage() + ")")
                + "; is another program using that port, and is the address one of this host's?", cause);
    }
}
