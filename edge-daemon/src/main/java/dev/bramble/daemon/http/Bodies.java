package dev.bramble.daemon.http;

import io.helidon.webserver.http.ServerRequest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.function.Supplier;

/** Reads request bodies within a limit, never holding more than the limit in memory. */
final class Bodies {
    /** Past this, an oversized body is no longer drained and the connection is simply closed. */
    private static final long DRAIN_LIMIT = 64L << 20;

    private Bodies() {
    }

    /**
     * The body, at most {@code limit} bytes.
     *
     * @throws ApiException {@code tooLarge}'s, when it is longer (made only then: an exception's stack costs)
     */
    static byte[] read(ServerRequest req, int limit, Supplier<ApiException> tooLarge) {
        OptionalLong declared = req.headers().contentLength();
        try (InputStream in = req.content().inputStream()) {
            if (declared.isPresent() && declared.getAsLong() > limit) {
                drain(in);
                throw tooLarge.get();
            }
            byte[] body = in.readNBytes(limit + 1);
            if (body.length > limit) {
                drain(in);
                throw tooLarge.get();
            }
            return body;
        } catch (IOException e) {
            throw new UncheckedIOException("reading the request body failed", e);
        }
    }

    /**
     * Streams the body into {@code file}, at most {@code limit} bytes.
     *
     * @throws ApiException {@code tooLarge}'s, when it is longer (made only then: an exception's stack costs)
     */
    static void copy(ServerRequest req, Path file, long limit, Supplier<ApiException> tooLarge) {
        OptionalLong declared = req.headers().contentLength();
        try (InputStream in = req.content().inputStream()) {
            if (declared.isPresent() && declared.getAsLong() > limit) {
                drain(in);
                throw tooLarge.get();
            }
            long n;
            try (OutputStream out = Files.newOutputStream(file)) {
                n = in.transferTo(new LimitedOutput(out, limit));
            } catch (LimitedOutput.Exceeded e) {
                drain(in);
                throw tooLarge.get();
            }
            if (n > limit) {
                throw tooLarge.get();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("receiving the request body failed", e);
        }
    }

    private static void drain(InputStream in) throws IOException {
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        for (int n; total < DRAIN_LIMIT && (n = in.read(buf)) > 0; ) {
            total += n;
        }
    }

    private static final class LimitedOutput extends OutputStream {
        private final OutputStream out;
        private final long limit;
        private long written;

        LimitedOutput(OutputStream out, long limit) {
            this.out = out;
            this.limit = limit;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[]{(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            written += len;
            if (written > limit) {
                throw new Exceeded();
            }
            out.write(b, off, len);
        }

        static final class Exceeded extends IOException {
            Exceeded() {
                super("body limit exceeded");
            }
        }
    }
}
