package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

/** Fails in its constructor: an init error, reported to the invocation that cold-started it. */
public class BrokenConstructor implements RequestHandler<Object, Object> {
    public BrokenConstructor() {
        throw new IllegalStateException("no database configured");
    }

    @Override
    public Object handleRequest(Object input, Context context) {
        return input;
    }
}
