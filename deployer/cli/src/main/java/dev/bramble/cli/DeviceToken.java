package dev.bramble.cli;

import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The admin token of a device spoken to directly: {@code --device-token}, else the file the daemon generated
 * (readable by root only, so on the device this is {@code sudo bramble …}).
 */
final class DeviceToken {
    @Option(names = "--device-token", defaultValue = "${env:BRAMBLE_DEVICE_TOKEN:-}",
            description = "the device's admin token (env BRAMBLE_DEVICE_TOKEN); default: read from "
                    + "--device-token-file")
    String token;
    @Option(names = "--device-token-file", defaultValue = "${env:BRAMBLE_DEVICE_TOKEN_FILE:-"
            + "/var/lib/bramble/admin.token}", description = "where the device keeps its admin token "
            + "(default ${DEFAULT-VALUE}; root only)")
    Path file;

    String token(CommandLine.Model.CommandSpec spec) {
        if (token != null && !token.isBlank()) {
            return token.strip();
        }
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "the device's admin routes need its "
                    + "admin token: give --device-token (or BRAMBLE_DEVICE_TOKEN), or run as root on the "
                    + "device so " + file + " can be read (" + e.getClass().getSimpleName() + ": "
                    + e.getMessage() + ")");
        }
    }
}
