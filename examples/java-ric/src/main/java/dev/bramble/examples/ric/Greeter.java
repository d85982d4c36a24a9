package dev.bramble.examples.ric;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

import java.util.LinkedHashMap;
import java.util.Map;

/** A plain Lambda handler; AWS's runtime interface client loads and runs it, not Bramble's runtime. */
public class Greeter implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        if (event.containsKey("fail")) {
            throw new IllegalStateException("asked to fail: " + event.get("fail"));
        }
        context.getLogger().log("greeting " + event.get("name"));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("greeting", "hello " + event.get("name"));
        out.put("requestId", context.getAwsRequestId());
        out.put("function", context.getFunctionName());
        out.put("arn", context.getInvokedFunctionArn());
        out.put("remainingMs", context.getRemainingTimeInMillis());
        out.put("runtime", System.getProperty("java.vendor") + " " + Runtime.version().feature());
        return out;
    }
}
