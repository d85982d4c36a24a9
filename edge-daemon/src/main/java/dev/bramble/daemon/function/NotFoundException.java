package dev.bramble.daemon.function;

/** A function, version or alias that does not exist; the message names it and what does exist. */
public final class NotFoundException extends RuntimeException {
    public NotFoundException(String message) {
        super(message);
    }
}
