package dev.bramble.examples.echo;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

import java.util.LinkedHashMap;
import java.util.Map;

/** Returns its event unchanged, plus what the {@link Context} says, under {@code "context"}. */
public class Echo implements RequestHandler<Map<String, Object>, Map<String, Object>> {

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        Map<String, Object> out = new LinkedHashMap<>(event == null ? Map.of() : event);
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("awsRequestId", context.getAwsRequestId());
        facts.put("functionName", context.getFunctionName());
        facts.put("functionVersion", context.getFunctionVersion());
        facts.put("invokedFunctionArn", context.getInvokedFunctionArn());
        facts.put("memoryLimitInMB", context.getMemoryLimitInMB());
        facts.put("remainingTimeInMillis", context.getRemainingTimeInMillis());
        facts.put("logGroupName", context.getLogGroupName());
        facts.put("logStreamName", context.getLogStreamName());
        if (context.getClientContext() != null) {
            facts.put("clientContextCustom", context.getClientContext().getCustom());
        }
        facts.put("taskRoot", System.getenv("LAMBDA_TASK_ROOT"));
        facts.put("handler", System.getenv("_HANDLER"));
        out.put("context", facts);
        context.getLogger().log("echoing " + out.size() + " keys");
        return out;
    }
}
