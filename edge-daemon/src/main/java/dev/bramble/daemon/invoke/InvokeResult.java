package dev.bramble.daemon.invoke;

import dev.bramble.daemon.function.FunctionVersion;

import dev.bramble.daemon.logs.InvocationLog;

/**
 * The answer to an invocation.
 *
 * @param version   the version that ran
 * @param requestId the request id
 * @param payload   the function's result, or Lambda's error object when {@code error}
 * @param error     the function failed: it threw, timed out, died or could not initialise
 * @param log       the invocation's log, whose tail a caller may have asked for
 */
public record InvokeResult(FunctionVersion version, String requestId, byte[] payload, boolean error,
                           InvocationLog log) {
}
