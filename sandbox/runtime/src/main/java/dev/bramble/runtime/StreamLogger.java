package dev.bramble.runtime;

import com.amazonaws.services.lambda.runtime.LambdaLogger;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** The {@link LambdaLogger}: each message goes to the function's log stream, one line or more. */
final class StreamLogger implements LambdaLogger {
    private final PrintStream log;

    StreamLogger(PrintStream log) {
        this.log = log;
    }

    @Override
    public void log(String message) {
        String m = String.valueOf(message);
        if (m.endsWith("\n")) {
            log.print(m);
        } else {
            log.println(m);
        }
    }

    @Override
    public void log(byte[] message) {
        log(new String(message, StandardCharsets.UTF_8));
    }
}
