package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

/** A JSON string in, upper-cased out. */
public class StringHandler implements RequestHandler<String, String> {
    @Override
    public String handleRequest(String input, Context context) {
        return input.toUpperCase();
    }
}
