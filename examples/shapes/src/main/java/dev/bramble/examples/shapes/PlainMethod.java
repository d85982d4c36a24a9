package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;

import java.util.Map;

/** A handler named {@code Class::method}, implementing no interface, as AWS's docs allow. */
public class PlainMethod {
    public String greet(Map<String, String> event, Context context) {
        return "hi " + event.get("name") + " from " + context.getFunctionName();
    }
}
