package dev.bramble.daemon.http;

import java.util.List;
import java.util.Map;

/**
 * An error of the HTTP API itself, answered as Lambda answers: status, {@code X-Amzn-ErrorType} and
 * {@code {"Type": "User", "message": ...}}.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final List<String> problems;
    private final Map<String, String> headers;

    ApiException(int status, String type, String message) {
        this(status, type, message, List.of(), Map.of());
    }

    ApiException(int status, String type, String message, List<String> problems, Map<String, String> headers) {
        super(message);
        this.status = status;
        this.type = type;
        this.problems = List.copyOf(problems);
        this.headers = Map.copyOf(headers);
    }

    static ApiException badContent(String message) {
        return new ApiException(400, "InvalidRequestContentException", message);
    }

    static ApiException badParameter(String message) {
        return new ApiException(400, "InvalidParameterValueException", message);
    }

    static ApiException tooLarge(long limit, String operation) {
        return new ApiException(413, "RequestTooLargeException", "Request must be smaller than " + limit
                + " bytes for the " + operation + " operation");
    }

    int status() {
        return status;
    }

    String type() {
        return type;
    }

    List<String> problems() {
        return problems;
    }

    Map<String, String> headers() {
        return headers;
    }
}
