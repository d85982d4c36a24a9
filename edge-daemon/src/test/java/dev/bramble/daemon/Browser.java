package dev.bramble.daemon;

import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.logging.Level;

/**
 * Debian's headless Chromium driven over WebDriver by Debian's chromedriver: the browser an operator would use,
 * not a simulation of one. Both come from apt ({@code chromium chromium-driver}, which scripts/test installs); a
 * machine without them fails here with that name, never skips.
 */
final class Browser implements AutoCloseable {
    private static final String CHROMIUM = "/usr/bin/chromium";
    private static final String DRIVER = "/usr/bin/chromedriver";
    static final Path SCREENSHOTS = Path.of("target", "console-screenshots");

    final WebDriver driver;

    private Browser(WebDriver driver) {
        this.driver = driver;
    }

    static Browser start() {
        for (String exe : new String[]{CHROMIUM, DRIVER}) {
            if (!Files.isExecutable(Path.of(exe))) {
                throw new AssertionError(exe + " is missing: the console's browser tests need Debian's chromium and "
                        + "chromium-driver (apt-get install chromium chromium-driver; scripts/test does)");
            }
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        // --no-sandbox: Chromium's own sandbox refuses to start as root, which CI is
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--lang=en-GB");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(DRIVER)).usingAnyFreePort().build();
        return new Browser(new ChromeDriver(service, options));
    }

    void open(String url) {
        driver.get(url);
    }

    /** Waits for an element to be shown and returns it. */
    WebElement shown(String css) {
        return waitFor(Duration.ofSeconds(30)).until(d -> {
            List<WebElement> found = d.findElements(By.cssSelector(css));
            return found.isEmpty() || !found.getFirst().isDisplayed() ? null : found.getFirst();
        });
    }

    /** Waits until an element's text holds {@code text}; returns that text. */
    String waitForText(String css, String text) {
        return waitFor(Duration.ofSeconds(60)).until(d -> {
            List<WebElement> found = d.findElements(By.cssSelector(css));
            String t = found.isEmpty() ? "" : found.getFirst().getText();
            return t.contains(text) ? t : null;
        });
    }

    WebDriverWait waitFor(Duration timeout) {
        WebDriverWait wait = new WebDriverWait(driver, timeout);
        // the console re-renders as it refreshes: an element found may be replaced before it is read
        wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
        wait.withMessage(() -> "page text: " + bodyText() + "\nbrowser log: " + consoleLog());
        return wait;
    }

    String bodyText() {
        try {
            return driver.findElement(By.tagName("body")).getText();
        } catch (RuntimeException e) {
            return "(" + e.getMessage() + ")";
        }
    }

    /** What the page logged to its console: script errors and CSP refusals show up here. */
    List<String> consoleLog() {
        return driver.manage().logs().get(LogType.BROWSER).getAll().stream().map(LogEntry::toString).toList();
    }

    void type(String css, String text) {
        WebElement e = shown(css);
        e.clear();
        e.sendKeys(text);
    }

    /** Sets a text area's value as a paste would, without typing it key by key. */
    void setValue(String css, String value) {
        ((JavascriptExecutor) driver).executeScript("arguments[0].value = arguments[1];", shown(css), value);
    }

    void click(String css) {
        shown(css).click();
    }

    Object script(String js) {
        return ((JavascriptExecutor) driver).executeScript(js);
    }

    void size(int width, int height) {
        driver.manage().window().setSize(new Dimension(width, height));
    }

    void screenshot(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            Files.write(SCREENSHOTS.resolve(name + ".png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        driver.quit();
    }
}
