package dev.bramble.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A training run for a function version's class-data archive. The handler is loaded as for a cold start and the
 * runtime's mapping paths used once; then the JVM
 * dumps its archive (jcmd's {@code VM.cds dynamic_dump}, asked of itself) into its private /tmp and the runtime hands
 * it to the daemon over the channel. No JVM of a function, this one included, can write anywhere on the daemon's
 * disk: what the function could do to the archive here it does only to its own later JVMs.
 */
final class Training {
    private Training() {
    }

    /** A type of the runtime's own, mapped once so the bean machinery of Lambda's mapper is in the archive too. */
    public static final class Sample {
        public String name;
        public int count;
        public List<Integer> items;
        public java.util.Map<String, Object> nested;
        public boolean flag;
        public double value;
    }

    private static final byte[] SAMPLE = ("{\"name\":\"x\",\"count\":1,\"items\":[1,2],\"nested\":{\"a\":true,"
            + "\"b\":[\"c\"]},\"flag\":true,\"value\":1.5,\"unknown\":null}").getBytes(
            java.nio.charset.StandardCharsets.UTF_8);

    /**
     * Runs Lambda's POJO mapper over the runtime's own types (a Map, a List, a bean of the runtime's) and the
     * handler's own input serializer over an empty object, so the deserialisers a first invocation builds are in
     * the archive. What the handler's types make of an empty object is of no interest here.
     */
    @SuppressWarnings("unchecked")
    static void mapSamples(Handler handler) {
        for (Class<?> type : List.of(java.util.Map.class, Sample.class, List.class, String.class, Integer.class)) {
            var s = (com.amazonaws.services.lambda.runtime.serialization.PojoSerializer<Object>) Serializers.own(type);
            try {
                s.toJson(s.fromJson(new String(SAMPLE, java.nio.charset.StandardCharsets.UTF_8)),
                        java.io.OutputStream.nullOutputStream());
            } catch (RuntimeException mismatch) {
                // A list or a number is not an object; the paths it took are what counts.
            }
        }
        if (handler instanceof Handler.Typed typed) {
            try {
                typed.output().toJson(typed.input().fromJson("{}"), java.io.OutputStream.nullOutputStream());
            } catch (RuntimeException | LinkageError mismatch) {
                // As above.
            }
        }
    }

    /** The largest archive handed over; a bigger one is not sent (the daemon caps it too). */
    static final long MAX_ARCHIVE_BYTES = 128L << 20;
    /** Bytes per frame of the archive: small, so the daemon (a 64 MB heap on a small board) never holds much. */
    static final int PART_BYTES = 256 << 10;

    /**
     * Dumps this JVM's dynamic class-data archive to {@code file} (needs {@code -XX:+RecordDynamicDumpInfo}) and
     * sends it, in parts, on the channel. Returns how many bytes went, 0 when the dump failed or was too large.
     */
    static long dumpAndSend(Path file, Channel.Writer out) throws IOException {
        // The JDK announces a finished dump on System.out ("The process was attached by jcmd and dumped…"), which
        // here is the function's log: the function's readers have no use for it, so the dump runs without one.
        java.io.PrintStream log = System.out;
        System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            javax.management.MBeanServer server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
            server.invoke(new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"), "vmCds",
                    new Object[]{new String[]{"dynamic_dump", file.toString()}},
                    new String[]{String[].class.getName()});
        } catch (javax.management.JMException | RuntimeException e) {
            return 0;
        } finally {
            System.setOut(log);
        }
        if (!Files.isRegularFile(file) || Files.size(file) > MAX_ARCHIVE_BYTES) {
            return 0;
        }
        long sent = 0;
        try (java.io.InputStream in = Files.newInputStream(file)) {
            byte[] part = in.readNBytes(PART_BYTES);
            while (true) {
                byte[] next = part.length < PART_BYTES ? new byte[0] : in.readNBytes(PART_BYTES);
                out.write(new Channel.ArchivePart(part, next.length == 0));
                sent += part.length;
                if (next.length == 0) {
                    break;
                }
                part = next;
            }
        }
        Files.delete(file);
        return sent;
    }

}
