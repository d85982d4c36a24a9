package dev.bramble.examples.misbehave;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Does what its event asks, so tests, benchmarks and the demo can make a function misbehave on purpose.
 * {@code allocMb} allocates outside the heap, so the environment's memory limit, not the JVM's heap limit, stops it.
 * Keys, applied in this order ({@code id} is echoed back; {@code logPrefix} starts each log line): {@code chatterMs,
 * getenv, longLineMb, logLines, readFile, listDir, appendTo (a MB to that file), tmpWriteMb, writeTo (with writeMb), forks, background, httpGet, udpSend,
 * interfaces, allocMb, spinMs, sleepMs, throw, exit}. {@code background} leaves that many busy-looping shell
 * processes behind, and a spinning thread, for as long as the JVM lives; {@code httpGet} tries each URL and says
 * what answered; {@code udpSend} sends a datagram to each {@code host:port} and waits briefly for an answer;
 * {@code interfaces} lists the network interfaces the function sees. {@code chatterMs} starts, once per
 * JVM, a thread that writes a line to stderr every that many milliseconds for as long as the JVM runs. It answers with what happened, including the exception a step met (for example the IOException of a
 * failed write), so a test can tell a contained failure from a missing one.
 */
public class Misbehave implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    private static final long MB = 1 << 20;
    private static final java.util.concurrent.atomic.AtomicBoolean CHATTERING =
            new java.util.concurrent.atomic.AtomicBoolean();
    private static final java.util.concurrent.atomic.AtomicBoolean BACKGROUND =
            new java.util.concurrent.atomic.AtomicBoolean();
    private static final java.util.concurrent.atomic.AtomicLong SPINS = new java.util.concurrent.atomic.AtomicLong();

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        Map<String, Object> e = event == null ? Map.of() : event;
        // Through an MQTT or CoAP trigger the instructions arrive as the event's JSON payload; from a schedule, as
        // its detail.
        Object nested = e.containsKey("payload") ? e.get("payload") : e.get("detail");
        if (nested instanceof Map<?, ?> inner) {
            @SuppressWarnings("unchecked")
            Map<String, Object> instructions = (Map<String, Object>) inner;
            e = instructions;
        }
        Map<String, Object> report = new LinkedHashMap<>();
        if (e.get("id") != null) {
            report.put("id", e.get("id"));
        }
        if (e.get("chatterMs") instanceof Number n && CHATTERING.compareAndSet(false, true)) {
            long every = Math.max(1, n.longValue());
            Thread.ofPlatform().daemon(true).name("chatter").start(() -> chatter(every));
            report.put("chatterMs", every);
        }
        if (e.get("getenv") instanceof String name) {
            report.put("getenv", String.valueOf(System.getenv(name)));
        }
        if (e.get("rawFrameLength") instanceof Number n) {
            // What a function that knows the channel is fd 1 could write there: a frame header claiming n bytes.
            try {
                java.io.FileOutputStream fd1 = new java.io.FileOutputStream(java.io.FileDescriptor.out);
                fd1.write(java.nio.ByteBuffer.allocate(4).putInt(n.intValue()).array());
                fd1.flush();
            } catch (IOException ex) {
                report.put("rawFrameError", ex.toString());
            }
        }
        if (e.get("responseKb") instanceof Number n) {
            report.put("response", "r".repeat(n.intValue() << 10)); // a response of about that size
        }
        if (e.get("longLineMb") instanceof Number n) {
            // That many MB on one line, no newline until the end: what the daemon must not hold whole.
            byte[] chunk = new byte[1 << 20];
            java.util.Arrays.fill(chunk, (byte) 'x');
            for (int i = 0; i < n.intValue(); i++) {
                System.out.write(chunk, 0, chunk.length);
            }
            System.out.println();
            System.out.println("after the long line");
            report.put("longLineMb", n.intValue());
        }
        if (e.get("logLines") instanceof Number n) {
            String prefix = e.get("logPrefix") instanceof String p ? p + " " : "";
            for (int i = 0; i < n.intValue(); i++) {
                System.out.println(prefix + "line " + i);
            }
            report.put("logLines", n.intValue());
        }
        if (e.get("readFile") instanceof String path) {
            try {
                report.put("readFile", Map.of("bytes", Files.readAllBytes(Path.of(path)).length));
            } catch (IOException | RuntimeException ex) {
                report.put("readFile", Map.of("error", ex.toString()));
            }
        }
        if (e.get("listDir") instanceof String path) {
            try (var entries = Files.list(Path.of(path))) {
                report.put("listDir", Map.of("entries", entries.map(p -> p.getFileName().toString()).sorted().toList()));
            } catch (IOException | RuntimeException ex) {
                report.put("listDir", Map.of("error", ex.toString()));
            }
        }
        if (e.get("appendTo") instanceof String path) {
            try {
                Files.write(Path.of(path), new byte[1 << 20], java.nio.file.StandardOpenOption.APPEND);
                report.put("appendTo", Map.of("appended", 1 << 20));
            } catch (IOException | RuntimeException ex) {
                report.put("appendTo", Map.of("error", ex.toString()));
            }
        }
        if (e.get("tmpWriteMb") instanceof Number n) {
            report.put("tmpWriteMb", writeTmp(Path.of(System.getProperty("java.io.tmpdir")), n.intValue()));
        }
        if (e.get("writeTo") instanceof List<?> dirs) {
            // Each place a function might try to keep files: {"writeTo": ["/dev/shm", "/var/tmp"], "writeMb": 1}
            int mb = e.get("writeMb") instanceof Number n ? n.intValue() : 1;
            Map<String, Object> out = new LinkedHashMap<>();
            dirs.forEach(d -> out.put(String.valueOf(d), writeTmp(Path.of(String.valueOf(d)), mb)));
            report.put("writeTo", out);
        }
        if (e.get("forks") instanceof Number n) {
            report.put("forks", fork(n.intValue()));
        }
        if (e.get("background") instanceof Number n && BACKGROUND.compareAndSet(false, true)) {
            Thread.ofPlatform().daemon(true).name("spinner").start(() -> {
                while (true) {
                    SPINS.incrementAndGet();
                }
            });
            for (int i = 0; i < n.intValue(); i++) {
                try {
                    new ProcessBuilder("/bin/sh", "-c", "while :; do :; done").start();
                } catch (IOException ex) {
                    report.put("backgroundError", ex.toString());
                }
            }
            report.put("background", n.intValue());
        }
        report.put("spinsSoFar", SPINS.get());
        if (e.get("httpGet") instanceof List<?> urls) {
            Map<String, Object> out = new LinkedHashMap<>();
            urls.forEach(u -> out.put(String.valueOf(u), httpGet(String.valueOf(u))));
            report.put("httpGet", out);
        }
        if (e.get("udpSend") instanceof List<?> targets) {
            Map<String, Object> out = new LinkedHashMap<>();
            targets.forEach(t -> out.put(String.valueOf(t), udpSend(String.valueOf(t))));
            report.put("udpSend", out);
        }
        if (Boolean.TRUE.equals(e.get("interfaces"))) {
            try {
                report.put("interfaces", java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())
                        .stream().map(java.net.NetworkInterface::getName).sorted().toList());
            } catch (IOException ex) {
                report.put("interfaces", ex.toString());
            }
        }
        if (e.get("allocMb") instanceof Number n) {
            allocateNative(n.intValue());
            report.put("allocMb", n.intValue());
        }
        if (e.get("spinMs") instanceof Number n) {
            long end = System.nanoTime() + n.longValue() * 1_000_000L;
            long spins = 0;
            while (System.nanoTime() < end) {
                spins++;
            }
            report.put("spins", spins);
        }
        if (e.get("sleepMs") instanceof Number n) {
            try {
                Thread.sleep(n.longValue());
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            report.put("sleptMs", n.longValue());
        }
        if (e.get("throw") instanceof String message) {
            throw new IllegalStateException(message);
        }
        if (e.get("exit") instanceof Number n) {
            System.out.println("exiting with " + n.intValue());
            System.exit(n.intValue());
        }
        report.put("uid", uid());
        report.put("pid", ProcessHandle.current().pid());
        report.put("stream", context.getLogStreamName());
        return report;
    }

    /**
     * Allocates and touches memory outside the heap, as a leaking native library would: no JVM limit stops it,
     * only the environment's memory limit does. Never freed: the environment is meant to die of it.
     */
    private static void allocateNative(int mb) {
        try {
            Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
            f.setAccessible(true);
            Object unsafe = f.get(null);
            Method allocate = unsafe.getClass().getMethod("allocateMemory", long.class);
            Method set = unsafe.getClass().getMethod("setMemory", long.class, long.class, byte.class);
            for (int i = 0; i < mb; i++) {
                long address = (long) allocate.invoke(unsafe, MB);
                set.invoke(unsafe, address, MB, (byte) 1);
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot allocate native memory: " + e, e);
        }
    }

    private static Map<String, Object> writeTmp(Path dir, int mb) {
        Path file = dir.resolve("misbehave-" + ProcessHandle.current().pid());
        long written = 0;
        try (OutputStream out = Files.newOutputStream(file)) {
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < mb; i++) {
                out.write(chunk);
                written += chunk.length;
            }
            return Map.of("path", file.toString(), "writtenMb", written >> 20);
        } catch (IOException ex) {
            return Map.of("path", file.toString(), "writtenMb", written >> 20, "error", ex.toString());
        }
    }

    private static Map<String, Object> fork(int count) {
        List<Process> started = new ArrayList<>();
        String error = null;
        try {
            for (int i = 0; i < count; i++) {
                started.add(new ProcessBuilder("sleep", "30").start());
            }
        } catch (IOException | Error ex) {
            error = ex.toString().lines().findFirst().orElse("");
        }
        started.forEach(Process::destroyForcibly);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("started", started.size());
        if (error != null) {
            out.put("error", error);
        }
        return out;
    }

    /** GETs a URL: its status and the first bytes of its body, or the exception that stopped it. */
    private static Map<String, Object> httpGet(String url) {
        try {
            java.net.HttpURLConnection c = (java.net.HttpURLConnection) java.net.URI.create(url).toURL()
                    .openConnection();
            c.setConnectTimeout(2_000);
            c.setReadTimeout(2_000);
            int status = c.getResponseCode();
            java.io.InputStream body = status < 400 ? c.getInputStream() : c.getErrorStream();
            String text = body == null ? "" : new String(body.readNBytes(200), java.nio.charset.StandardCharsets.UTF_8);
            return Map.of("status", status, "body", text);
        } catch (IOException | RuntimeException ex) {
            return Map.of("error", ex.toString());
        }
    }

    /** Sends a CoAP GET of {@code /} (a valid confirmable message) and waits a second for any answer. */
    private static Map<String, Object> udpSend(String target) {
        int colon = target.lastIndexOf(':');
        try (java.net.DatagramSocket socket = new java.net.DatagramSocket()) {
            socket.setSoTimeout(1_000);
            byte[] get = {0x40, 0x01, 0x12, 0x34};
            socket.send(new java.net.DatagramPacket(get, get.length, new java.net.InetSocketAddress(
                    target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)))));
            byte[] buf = new byte[1500];
            java.net.DatagramPacket answer = new java.net.DatagramPacket(buf, buf.length);
            socket.receive(answer);
            return Map.of("answered", answer.getLength());
        } catch (IOException | RuntimeException ex) {
            return Map.of("error", ex.toString());
        }
    }

    private static String uid() {
        try {
            return Files.getAttribute(Path.of("/proc/self"), "unix:uid").toString();
        } catch (IOException | RuntimeException ex) {
            return "unknown";
        }
    }

    private static void chatter(long everyMs) {
        for (long i = 0; ; i++) {
            System.err.println("chatter " + i);
            try {
                Thread.sleep(everyMs);
            } catch (InterruptedException ex) {
                return;
            }
        }
    }
}
