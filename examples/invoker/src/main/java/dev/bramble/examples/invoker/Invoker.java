package dev.bramble.examples.invoker;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.InvokeRequest;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Invokes another function the way a Lambda function does, with the AWS SDK for Java 2.x: its credentials and the
 * Lambda endpoint come from the environment ({@code AWS_ACCESS_KEY_ID} & co., {@code AWS_ENDPOINT_URL_LAMBDA}), as
 * on Lambda; nothing here knows it runs on Bramble. The event names the target and its payload:
 * {@code {"function": "echo", "payload": {...}}}.
 */
public class Invoker implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    private static final LambdaClient LAMBDA = LambdaClient.builder()
            .region(Region.of(System.getenv().getOrDefault("AWS_REGION", "local")))
            .httpClient(UrlConnectionHttpClient.create())
            .build();

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        String function = String.valueOf(event.getOrDefault("function", "echo"));
        String payload = event.get("payload") instanceof String s ? s : "{}";
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            InvokeResponse r = LAMBDA.invoke(InvokeRequest.builder().functionName(function)
                    .payload(SdkBytes.fromString(payload, StandardCharsets.UTF_8)).build());
            out.put("statusCode", r.statusCode());
            out.put("executedVersion", r.executedVersion());
            out.put("functionError", r.functionError());
            out.put("payload", r.payload().asUtf8String());
        } catch (RuntimeException e) {
            out.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        return out;
    }
}
