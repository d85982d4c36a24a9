package {{package}};

/** The event: a bean with getters and setters, as Lambda's Java samples write them. */
public class Reading {
    private String device;
    private double celsius;

    public String getDevice() {
        return device;
    }

    public void setDevice(String device) {
        this.device = device;
    }

    public double getCelsius() {
        return celsius;
    }

    public void setCelsius(double celsius) {
        this.celsius = celsius;
    }
}
