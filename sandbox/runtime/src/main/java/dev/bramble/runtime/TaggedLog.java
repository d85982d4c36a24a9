package dev.bramble.runtime;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;

/**
 * The log stream of a runtime that runs several invocations at once: each thread's output is gathered into whole
 * lines, and a line written while the thread serves an invocation is prefixed with that invocation's tag
 * ({@link Channel#tag}), so the daemon can give every line to the right request. Lines never interleave.
 */
final class TaggedLog extends OutputStream {
    private static final ThreadLocal<String> REQUEST = new ThreadLocal<>();
    private final OutputStream out;
    private final ThreadLocal<ByteArrayOutputStream> line = ThreadLocal.withInitial(() -> new ByteArrayOutputStream(256));

    TaggedLog(OutputStream out) {
        this.out = out;
    }

    /** Marks the calling thread as serving {@code requestId}, or none when null. */
    static void serving(String requestId) {
        if (requestId == null) {
            REQUEST.remove();
        } else {
            REQUEST.set(requestId);
        }
    }

    @Override
    public void write(int b) {
        ByteArrayOutputStream buf = line.get();
        buf.write(b);
        if (b == '\n') {
            emit(buf);
        }
    }

    @Override
    public void write(byte[] b, int off, int len) {
        ByteArrayOutputStream buf = line.get();
        int start = off;
        for (int i = off; i < off + len; i++) {
            if (b[i] == '\n') {
                buf.write(b, start, i - start + 1);
                emit(buf);
                start = i + 1;
            }
        }
        buf.write(b, start, off + len - start);
    }

    @Override
    public void flush() {
        ByteArrayOutputStream buf = line.get();
        if (buf.size() > 0) {
            buf.write('\n');
            emit(buf);
        }
    }

    private void emit(ByteArrayOutputStream buf) {
        String id = REQUEST.get();
        synchronized (out) {
            try {
                if (id != null) {
                    out.write(Channel.tag(id));
                }
                buf.writeTo(out);
                out.flush();
            } catch (java.io.IOException e) {
                // stderr is gone: the daemon is gone, and the runtime is about to learn it on stdin.
            }
        }
        buf.reset();
    }
}
