package dev.bramble.examples.shapes;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

/** POJO in, POJO out. */
public class PojoHandler implements RequestHandler<Order, Receipt> {
    @Override
    public Receipt handleRequest(Order order, Context context) {
        return new Receipt(order.getItem(), order.getQuantity() * order.getUnitPrice());
    }
}
