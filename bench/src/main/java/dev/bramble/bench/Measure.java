package dev.bramble.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Measuring tools: HTTP, wrk, process memory, percentiles. */
final class Measure {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Pattern WRK_LATENCY = Pattern.compile("^\\s+(50|99)%\\s+([0-9.]+)(us|ms|s)\\s*$");
    private static final Pattern WRK_RPS = Pattern.compile("^Requests/sec:\\s+([0-9.]+)");

    private Measure() {
    }

    /** The result of one wrk run: latency percentiles in microseconds, requests per second, and errors. */
    record Wrk(double p50us, double p99us, double rps, String errors) {
    }

    static HttpResponse<String> send(String method, String url, byte[] body, String... headers) throws IOException {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(body));
            for (int i = 0; i < headers.length; i += 2) {
                b.header(headers[i], headers[i + 1]);
            }
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    static boolean healthy(String base) {
        try {
            return send("GET", base + "/v1/health", null).statusCode() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs wrk with keep-alive connections from its own process. */
    static Wrk wrk(String url, String method, String body, int threads, int connections, int seconds, Path work)
            throws IOException, InterruptedException {
        Path script = Files.createTempFile(work, "wrk-", ".lua");
        Files.writeString(script, "wrk.method = \"" + method + "\"\n"
                + (body == null ? "" : "wrk.body = '" + body + "'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"));
        Process p = new ProcessBuilder("wrk", "-t" + threads, "-c" + connections, "-d" + seconds + "s", "--latency",
                "-s", script.toString(), url).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        double p50 = -1;
        double p99 = -1;
        double rps = -1;
        StringBuilder errors = new StringBuilder();
        for (String line : out.split("\n")) {
            Matcher m = WRK_LATENCY.matcher(line);
            if (m.find()) {
                double v = Double.parseDouble(m.group(2)) * switch (m.group(3)) {
                    case "us" -> 1;
                    case "ms" -> 1_000;
                    default -> 1_000_000;
                };
                if (m.group(1).equals("50")) {
                    p50 = v;
                } else {
                    p99 = v;
                }
            }
            Matcher r = WRK_RPS.matcher(line);
            if (r.find()) {
                rps = Double.parseDouble(r.group(1));
            }
            if (line.contains("Non-2xx") || line.contains("Socket errors")) {
                errors.append(line.strip()).append(' ');
            }
        }
        if (rps < 0) {
            throw new IOException("wrk printed no result:\n" + out);
        }
        return new Wrk(p50, p99, rps, errors.toString().strip());
    }

    /** Resident set size of a process, MB. */
    static double rssMb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return -1;
    }

    /** Proportional set size of a process, MB: its fair share of pages it shares with others. */
    static double pssMb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps_rollup"))) {
            if (line.startsWith("Pss:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return -1;
    }

    /** Milliseconds from spawning {@code command} to the end of the first line it prints (a floor's result). */
    static double msToFirstLine(List<String> command) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (java.io.InputStream in = p.getInputStream()) {
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                // the first line is the result
            }
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        p.waitFor();
        return ms;
    }

    static double percentile(List<Double> values, double p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }
}
