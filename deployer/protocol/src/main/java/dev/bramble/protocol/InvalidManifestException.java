package dev.bramble.protocol;

import java.util.List;

/** A manifest that failed validation; {@link #problems()} lists every problem found. */
public final class InvalidManifestException extends BundleException {
    InvalidManifestException(List<String> problems) {
        super(problems);
    }
}
