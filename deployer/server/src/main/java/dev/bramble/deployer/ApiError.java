package dev.bramble.deployer;

import java.util.List;

/** An answer other than success: status, a type, a message that names the problem, and any details. */
final class ApiError extends RuntimeException {
    private final int status;
    private final String type;
    private final List<String> problems;

    ApiError(int status, String type, String message) {
        this(status, type, message, List.of());
    }

    ApiError(int status, String type, String message, List<String> problems) {
        super(message);
        this.status = status;
        this.type = type;
        this.problems = List.copyOf(problems);
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

    static ApiError badRequest(String message) {
        return new ApiError(400, "InvalidRequest", message);
    }

    static ApiError notFound(String message) {
        return new ApiError(404, "NotFound", message);
    }

    static ApiError conflict(String message) {
        return new ApiError(409, "Conflict", message);
    }
}
