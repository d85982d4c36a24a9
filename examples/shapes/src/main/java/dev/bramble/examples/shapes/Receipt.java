package dev.bramble.examples.shapes;

/** A typed output. */
public class Receipt {
    private final String item;
    private final double total;

    public Receipt(String item, double total) {
        this.item = item;
        this.total = total;
    }

    public String getItem() {
        return item;
    }

    public double getTotal() {
        return total;
    }
}
