package dev.bramble.examples.shapes;

/** A typed input, written as AWS's POJO samples write them: a bean with getters and setters. */
public class Order {
    private String item;
    private int quantity;
    private double unitPrice;

    public String getItem() {
        return item;
    }

    public void setItem(String item) {
        this.item = item;
    }

    public int getQuantity() {
        return quantity;
    }

    public void setQuantity(int quantity) {
        this.quantity = quantity;
    }

    public double getUnitPrice() {
        return unitPrice;
    }

    public void setUnitPrice(double unitPrice) {
        this.unitPrice = unitPrice;
    }
}
