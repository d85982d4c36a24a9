package dev.bramble.daemon.invoke;

import dev.bramble.daemon.function.FunctionVersion;

import java.util.List;

/**
 * The answer to an invocation.
 *
 * @param version   the version that ran
 * @param requestId the request id
 * @param payload   the function's result, or Lambda's error object when {@code error}
 * @param error     the function failed: it threw, timed out, died or could not initialise
 * @param log       the invocation's log lines, START to REPORT, the last 4 KB of them
 */
public record InvokeResult(FunctionVersion version, String requestId, byte[] payload, boolean error,
                           List<String> log) {
}
