package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

/** A JSON number in, doubled out. */
public class IntegerHandler implements RequestHandler<Integer, Integer> {
    @Override
    public Integer handleRequest(Integer input, Context context) {
        return input * 2;
    }
}
