package dev.bramble.protocol;

/** A bundle signature that is missing, malformed, untrusted or wrong; the code says which. */
public final class SignatureException extends RuntimeException {
    /** Why a signature was refused. */
    public enum Code {
        MISSING, MALFORMED, DIGEST_MISMATCH, UNTRUSTED_KEY, BAD_SIGNATURE
    }

    private final Code code;

    public SignatureException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public Code code() {
        return code;
    }
}
