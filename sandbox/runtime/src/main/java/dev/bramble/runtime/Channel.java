package dev.bramble.runtime;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The wire format between the daemon and a child runtime: length-prefixed frames over a pipe pair.
 *
 * <p>Every frame is {@code int length, byte type, body}. The daemon sends {@link Invoke}; the child sends
 * {@link Ready} or {@link InitError} once, then one {@link Result} per invoke. Both sides use this one class,
 * so the format cannot drift. A reader or writer is not thread-safe; each side has one of each per child.
 */
public final class Channel {
    /** Largest frame either side accepts: a 6 MB payload plus headers, with room to spare. */
    public static final int MAX_FRAME_BYTES = 8 * 1024 * 1024;
    /** Lambda's largest synchronous response, 6 MB as Lambda counts it. */
    public static final int MAX_RESPONSE_BYTES = 6_291_556;

    /** A frame longer than {@link #MAX_FRAME_BYTES}: the stream cannot be trusted past it. */
    public static final class FrameTooLargeException extends IOException {
        public FrameTooLargeException(int length) {
            super("malformed frame: length " + length + " outside 1.." + MAX_FRAME_BYTES);
        }
    }

    /**
     * The line the child writes to its log stream after each invocation's output and before the result
     * frame, so the daemon knows it has read the whole invocation's log.
     */
    public static final String END_OF_LOG_MARKER = "\u0000bramble:end:";

    /** Prefix of a log line that belongs to one invocation, in a runtime running several at once. */
    public static final String TAG_START = "\u0000rid:";
    /** Ends the tag; the line's own text follows. */
    public static final char TAG_END = '\u0000';

    /** The tag that marks a log line as {@code requestId}'s. */
    public static byte[] tag(String requestId) {
        return (TAG_START + requestId + TAG_END).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Written by the child before its first frame. The JVM itself may print to stdout before {@code main} runs
     * (some class-data sharing messages do, whatever -Xlog says); the daemon skips anything before this.
     */
    public static final byte[] PREAMBLE = "\u0000BRAMBLE-CHANNEL-1\u0000".getBytes(StandardCharsets.US_ASCII);
    /** The most bytes the daemon skips while looking for the preamble. */
    public static final int PREAMBLE_SEARCH_LIMIT = 64 * 1024;

    private static final byte INVOKE = 1;
    private static final byte READY = 2;
    private static final byte INIT_ERROR = 3;
    private static final byte RESULT = 4;
    private static final byte ARCHIVE_PART = 5;

    private Channel() {
    }

    /** A frame on the channel. */
    public sealed interface Frame permits Invoke, Ready, InitError, Result, ArchivePart {
    }

    /**
     * One invocation, daemon to child.
     *
     * @param requestId     the request id, stable across retries
     * @param deadlineEpochMs wall-clock deadline, for {@code Context.getRemainingTimeInMillis()}
     * @param invokedArn    the ARN-shaped id the caller used, with its qualifier
     * @param clientContext the decoded client context JSON, or empty
     * @param payload       the event, JSON
     */
    public record Invoke(String requestId, long deadlineEpochMs, String invokedArn, String clientContext,
                         byte[] payload) implements Frame {
    }

    /** The handler is loaded and constructed; the child takes invocations from now on. */
    public record Ready() implements Frame {
    }

    /**
     * The handler could not be loaded; the child exits after sending this.
     *
     * @param error a Lambda error object, JSON
     */
    public record InitError(byte[] error) implements Frame {
    }

    /**
     * The outcome of one invocation, child to daemon.
     *
     * @param requestId     the request this answers
     * @param ok            false when {@code payload} is a Lambda error object
     * @param durationNanos time spent in the handler, including (de)serialisation
     * @param last          the runtime exits after this answer (the JVM is unusable, e.g. after an OutOfMemoryError)
     * @param payload       the result or the error object, JSON
     */
    public record Result(String requestId, boolean ok, long durationNanos, boolean last, byte[] payload)
            implements Frame {
    }

    /**
     * A piece of the class-data archive a training run made, child to daemon, after {@link Ready}; the daemon
     * takes them only from an environment it started to train.
     *
     * @param data the next bytes of the archive
     * @param last whether the archive is complete with these
     */
    public record ArchivePart(byte[] data, boolean last) implements Frame {
    }

    /** Writes frames to one stream. Each call writes one frame and flushes. */
    public static final class Writer {
        private final DataOutputStream out;

        public Writer(OutputStream out) {
            this.out = new DataOutputStream(new java.io.BufferedOutputStream(out, 64 * 1024));
        }

        /** Writes the {@link #PREAMBLE}; the child's first write. */
        public void preamble() throws IOException {
            out.write(PREAMBLE);
            out.flush();
        }

        public void write(Frame frame) throws IOException {
            switch (frame) {
                case Invoke i -> {
                    byte[] id = utf8(i.requestId());
                    byte[] arn = utf8(i.invokedArn());
                    byte[] cc = utf8(i.clientContext());
                    header(INVOKE, 8 + 12 + id.length + arn.length + cc.length + i.payload().length);
                    out.writeLong(i.deadlineEpochMs());
                    bytes(id);
                    bytes(arn);
                    bytes(cc);
                    out.write(i.payload());
                }
                case Ready r -> header(READY, 0);
                case InitError e -> {
                    header(INIT_ERROR, e.error().length);
                    out.write(e.error());
                }
                case ArchivePart a -> {
                    header(ARCHIVE_PART, 1 + a.data().length);
                    out.writeBoolean(a.last());
                    out.write(a.data());
                }
                case Result r -> {
                    byte[] id = utf8(r.requestId());
                    header(RESULT, 4 + id.length + 1 + 8 + 1 + r.payload().length);
                    bytes(id);
                    out.writeBoolean(r.ok());
                    out.writeLong(r.durationNanos());
                    out.writeBoolean(r.last());
                    out.write(r.payload());
                }
            }
            out.flush();
        }

        private void header(byte type, int bodyLength) throws IOException {
            int length = 1 + bodyLength;
            if (length > MAX_FRAME_BYTES) {
                throw new IOException("frame of " + length + " bytes exceeds the channel limit of "
                        + MAX_FRAME_BYTES);
            }
            out.writeInt(length);
            out.writeByte(type);
        }

        private void bytes(byte[] b) throws IOException {
            out.writeInt(b.length);
            out.write(b);
        }
    }

    /** Reads frames from one stream. */
    public static final class Reader {
        private final DataInputStream in;

        public Reader(InputStream in) {
            this.in = new DataInputStream(new java.io.BufferedInputStream(in, 64 * 1024));
        }

        /**
         * Skips to just after the {@link #PREAMBLE}, handing whatever came before it to {@code junk}.
         *
         * @throws IOException when the stream ends first, or no preamble comes within the search limit
         */
        public void awaitPreamble(java.util.function.Consumer<String> junk) throws IOException {
            java.io.ByteArrayOutputStream skipped = new java.io.ByteArrayOutputStream();
            int matched = 0;
            while (matched < PREAMBLE.length) {
                int b = in.read();
                if (b < 0) {
                    report(skipped, junk);
                    throw new EOFException("the child closed its channel before the preamble");
                }
                if (b == (PREAMBLE[matched] & 0xff)) {
                    matched++;
                    continue;
                }
                skipped.write(PREAMBLE, 0, matched);
                matched = b == (PREAMBLE[0] & 0xff) ? 1 : 0;
                if (matched == 0) {
                    skipped.write(b);
                }
                if (skipped.size() > PREAMBLE_SEARCH_LIMIT) {
                    report(skipped, junk);
                    throw new IOException("no channel preamble within " + PREAMBLE_SEARCH_LIMIT + " bytes");
                }
            }
            report(skipped, junk);
        }

        private static void report(java.io.ByteArrayOutputStream skipped, java.util.function.Consumer<String> junk) {
            if (skipped.size() > 0) {
                skipped.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).forEach(junk);
            }
        }

        /**
         * Reads the next frame.
         *
         * @throws EOFException when the other side closed the stream between frames
         * @throws IOException  on a malformed frame or a stream closed mid-frame
         */
        public Frame read() throws IOException {
            int length = in.readInt();
            if (length > MAX_FRAME_BYTES) {
                throw new FrameTooLargeException(length);
            }
            if (length < 1) {
                throw new IOException("malformed frame: length " + length + " outside 1.." + MAX_FRAME_BYTES);
            }
            byte type = in.readByte();
            int body = length - 1;
            return switch (type) {
                case INVOKE -> {
                    long deadline = in.readLong();
                    byte[] id = bytes();
                    byte[] arn = bytes();
                    byte[] cc = bytes();
                    byte[] payload = rest(body - 8 - 12 - id.length - arn.length - cc.length);
                    yield new Invoke(str(id), deadline, str(arn), str(cc), payload);
                }
                case READY -> {
                    rest(body);
                    yield new Ready();
                }
                case INIT_ERROR -> new InitError(rest(body));
                case ARCHIVE_PART -> {
                    boolean last = in.readBoolean();
                    yield new ArchivePart(rest(body - 1), last);
                }
                case RESULT -> {
                    byte[] id = bytes();
                    boolean ok = in.readBoolean();
                    long nanos = in.readLong();
                    boolean last = in.readBoolean();
                    yield new Result(str(id), ok, nanos, last, rest(body - 4 - id.length - 1 - 8 - 1));
                }
                default -> throw new IOException("malformed frame: unknown type " + type);
            };
        }

        private byte[] bytes() throws IOException {
            int n = in.readInt();
            if (n < 0 || n > MAX_FRAME_BYTES) {
                throw new IOException("malformed frame: field length " + n);
            }
            return rest(n);
        }

        private byte[] rest(int n) throws IOException {
            if (n < 0) {
                throw new IOException("malformed frame: field lengths exceed the frame");
            }
            byte[] b = new byte[n];
            in.readFully(b);
            return b;
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
