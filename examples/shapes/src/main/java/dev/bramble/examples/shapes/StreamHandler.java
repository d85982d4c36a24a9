package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Raw bytes in and out: answers how many bytes arrived and who asked. */
public class StreamHandler implements RequestStreamHandler {
    @Override
    public void handleRequest(InputStream input, OutputStream output, Context context) throws IOException {
        int n = input.readAllBytes().length;
        output.write(("{\"bytes\":" + n + ",\"requestId\":\"" + context.getAwsRequestId() + "\"}")
                .getBytes(StandardCharsets.UTF_8));
    }
}
