package {{package}};

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The handler as a plain object; `bramble local invoke` runs it in Bramble's runtime. */
class HandlerTest {
    @Test
    void aHotReadingRaisesTheAlert() {
        Reading reading = new Reading();
        reading.setDevice("pi-7");
        reading.setCelsius(31.5);
        Map<String, Object> report = new Handler().handleRequest(reading, new TestContext());
        assertEquals("pi-7", report.get("device"));
        assertEquals(88.7, (double) report.get("fahrenheit"), 1e-9);
        assertEquals(true, report.get("alert"));
        assertEquals("test-request", report.get("requestId"));
    }

    /** The Context a test needs: a request id and a logger that prints. */
    static final class TestContext implements Context {
        public String getAwsRequestId() { return "test-request"; }
        public String getLogGroupName() { return "/aws/lambda/{{name}}"; }
        public String getLogStreamName() { return "test"; }
        public String getFunctionName() { return "{{name}}"; }
        public String getFunctionVersion() { return "$LATEST"; }
        public String getInvokedFunctionArn() { return "arn:aws:lambda:local:000000000000:function:{{name}}"; }
        public CognitoIdentity getIdentity() { return null; }
        public ClientContext getClientContext() { return null; }
        public int getRemainingTimeInMillis() { return 5_000; }
        public int getMemoryLimitInMB() { return 128; }
        public LambdaLogger getLogger() {
            return new LambdaLogger() {
                public void log(String message) { System.out.println(message); }
                public void log(byte[] message) { log(new String(message, StandardCharsets.UTF_8)); }
            };
        }
    }
}
