package dev.bramble.daemon.env;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Lines of a child's output, read in bounded chunks: a line longer than the cap is cut, marked with how many bytes
 * were left out, and the rest of it skipped as it streams past, never held. A function writing hundreds of MB
 * without a newline costs the daemon one buffer, not its heap.
 */
final class BoundedLines {
    /** Room kept for the marker, so a cut line with its marker stays within the cap. */
    static final int MARKER_ROOM = 40;
    private final InputStream in;
    private final byte[] chunk = new byte[8192];
    private final byte[] line;
    private int pos;
    private int limit;
    private int length;
    private long dropped;

    /** @param maxBytes the longest line kept whole, bytes (at least {@link #MARKER_ROOM} * 2) */
    BoundedLines(InputStream in, int maxBytes) {
        this.in = in;
        this.line = new byte[Math.max(maxBytes, MARKER_ROOM * 2)];
    }

    /** The next line without its line end, or null at the end of the stream. */
    String next() throws IOException {
        while (true) {
            if (pos == limit) {
                limit = in.read(chunk);
                pos = 0;
                if (limit < 0) {
                    limit = 0;
                    return length > 0 || dropped > 0 ? take() : null;
                }
            }
            while (pos < limit) {
                byte b = chunk[pos++];
                if (b == '\n') {
                    return take();
                }
                if (dropped == 0 && length < line.length) {
                    line[length++] = b;
                } else {
                    if (dropped == 0) {
                        // Over the cap: keep what leaves room for the marker, count the rest as it passes.
                        dropped = length - (line.length - MARKER_ROOM);
                        length = line.length - MARKER_ROOM;
                    }
                    dropped++;
                }
            }
        }
    }

    private String take() {
        int n = length;
        if (dropped == 0 && n > 0 && line[n - 1] == '\r') {
            n--;
        }
        String s = new String(line, 0, n, StandardCharsets.UTF_8);
        if (dropped > 0) {
            s += " …[cut " + dropped + " bytes]";
        }
        length = 0;
        dropped = 0;
        return s;
    }
}
