package dev.bramble.examples.hello;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;

import java.util.Map;

/** Greets {@code ?name=}, the way AWS's Function URL samples are written. */
public class Hello implements RequestHandler<APIGatewayV2HTTPEvent, APIGatewayV2HTTPResponse> {

    @Override
    public APIGatewayV2HTTPResponse handleRequest(APIGatewayV2HTTPEvent event, Context context) {
        LambdaLogger logger = context.getLogger();
        Map<String, String> query = event == null ? null : event.getQueryStringParameters();
        String name = query == null || query.get("name") == null ? "world" : query.get("name");
        logger.log("greeting " + name);
        return APIGatewayV2HTTPResponse.builder()
                .withStatusCode(200)
                .withHeaders(Map.of("content-type", "text/plain; charset=utf-8"))
                .withBody("Hello, " + name + "!\n")
                .build();
    }
}
