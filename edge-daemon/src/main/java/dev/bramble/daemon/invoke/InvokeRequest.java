package dev.bramble.daemon.invoke;

/**
 * One synchronous invocation.
 *
 * @param function      the function's name
 * @param qualifier     version, alias, {@code $LATEST}, or null for {@code live}
 * @param payload       the event, valid JSON
 * @param clientContext the decoded client context JSON, or empty
 * @param requestId     the request id
 * @param tail          the caller wants the invocation's log lines back ({@code X-Amz-Log-Type: Tail})
 */
public record InvokeRequest(String function, String qualifier, byte[] payload, String clientContext,
                            String requestId, boolean tail) {
}
