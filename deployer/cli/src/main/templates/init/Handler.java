package {{package}};

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An AWS Lambda handler, as it would run on Lambda: a sensor reading in, a report out. Bramble maps the event's
 * JSON to {@link Reading} and the returned map to JSON with Lambda's own rules.
 */
public class Handler implements RequestHandler<Reading, Map<String, Object>> {
    static final double ALERT_CELSIUS = 30.0;

    @Override
    public Map<String, Object> handleRequest(Reading reading, Context context) {
        LambdaLogger log = context.getLogger();
        log.log("reading from " + reading.getDevice() + ": " + reading.getCelsius() + " °C");
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("device", reading.getDevice());
        report.put("fahrenheit", reading.getCelsius() * 9 / 5 + 32);
        report.put("alert", reading.getCelsius() >= ALERT_CELSIUS);
        report.put("requestId", context.getAwsRequestId());
        return report;
    }
}
