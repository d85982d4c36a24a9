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

    private static final byte[] EMPTY_OBJECT = {'{', '}'};

    /**
     * Runs the paths a first invocation takes, so that their classes are in the archive: Lambda's mapper over the
     * plain types every runtime reads (a Map, a List, a String, a number), and the handler's own input type over an
     * empty object, written back through the mapper (a bean's serializer when the input is a bean). Only what this
     * function's types need goes in: a runtime's archive is mapped whole, so every class in it costs memory in
     * every environment of the version. Bytes in and out, as an invocation reads and writes them (Handler.Typed):
     * the same parser and generator classes.
     */
    @SuppressWarnings("unchecked")
    static void mapSamples(Handler handler) {
        java.util.Map<Class<?>, String> samples = new java.util.LinkedHashMap<>();
        samples.put(java.util.Map.class, "{\"a\":{\"b\":[1,2.5,true,null,\"c\"]}}");
        samples.put(List.class, "[1,\"a\"]");
        samples.put(String.class, "\"s\"");
        samples.put(Integer.class, "7");
        samples.forEach((type, json) -> roundTrip(
                (com.amazonaws.services.lambda.runtime.serialization.PojoSerializer<Object>) Serializers.own(type),
                json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        if (handler instanceof Handler.Typed typed) {
            try {
                Object event = typed.input().fromJson(new java.io.ByteArrayInputStream(EMPTY_OBJECT));
                ((com.amazonaws.services.lambda.runtime.serialization.PojoSerializer<Object>)
                        (Object) Serializers.own(Object.class)).toJson(event, new java.io.ByteArrayOutputStream());
                typed.output().toJson(event, new java.io.ByteArrayOutputStream());
            } catch (RuntimeException | LinkageError mismatch) {
                // What the handler's types make of an empty object is of no interest here; the paths taken are.
            }
        }
    }

    private static void roundTrip(com.amazonaws.services.lambda.runtime.serialization.PojoSerializer<Object> s,
                                  byte[] json) {
        s.toJson(s.fromJson(new java.io.ByteArrayInputStream(json)), new java.io.ByteArrayOutputStream());
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
