package dev.bramble.daemon.function;

import dev.bramble.protocol.Manifest;

import java.nio.file.Path;
import java.time.Instant;

/**
 * One immutable, published version of a function.
 *
 * @param function  the function's name
 * @param version   1, 2, 3 …
 * @param sha256    the bundle's digest
 * @param manifest  its validated manifest
 * @param codeDir   where the bundle is unpacked, read-only; {@code LAMBDA_TASK_ROOT}
 * @param size      the bundle's size in bytes
 * @param createdAt when it was published
 */
public record FunctionVersion(String function, int version, String sha256, Manifest manifest, Path codeDir,
                              long size, Instant createdAt) {

    /** {@code name:version}, for logs. */
    public String label() {
        return function + ":" + version;
    }
}
