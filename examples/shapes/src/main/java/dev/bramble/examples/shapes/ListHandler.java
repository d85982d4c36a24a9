package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

import java.util.List;

/** A list of numbers in, their sum out; the element type comes from the generic signature. */
public class ListHandler implements RequestHandler<List<Integer>, Integer> {
    @Override
    public Integer handleRequest(List<Integer> input, Context context) {
        int sum = 0;
        for (Integer i : input) {
            sum += i;
        }
        return sum;
    }
}
