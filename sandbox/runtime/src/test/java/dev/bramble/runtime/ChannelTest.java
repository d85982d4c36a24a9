package dev.bramble.runtime;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChannelTest {
    @Test
    void everyFrameRoundTrips() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Channel.Writer w = new Channel.Writer(bytes);
        byte[] payload = "{\"é\":1}".getBytes(StandardCharsets.UTF_8);
        w.write(new Channel.Invoke("id-1", 42L, "arn:x", "{}", payload));
        w.write(new Channel.Ready());
        w.write(new Channel.InitError("{\"e\":1}".getBytes(StandardCharsets.UTF_8)));
        w.write(new Channel.Result("id-1", false, 7L, true, payload));
        Channel.Reader r = new Channel.Reader(new ByteArrayInputStream(bytes.toByteArray()));
        Channel.Invoke invoke = (Channel.Invoke) r.read();
        assertThat(invoke.requestId()).isEqualTo("id-1");
        assertThat(invoke.deadlineEpochMs()).isEqualTo(42L);
        assertThat(invoke.invokedArn()).isEqualTo("arn:x");
        assertThat(invoke.clientContext()).isEqualTo("{}");
        assertThat(invoke.payload()).isEqualTo(payload);
        assertThat(r.read()).isInstanceOf(Channel.Ready.class);
        assertThat(new String(((Channel.InitError) r.read()).error(), StandardCharsets.UTF_8)).isEqualTo("{\"e\":1}");
        Channel.Result result = (Channel.Result) r.read();
        assertThat(result.ok()).isFalse();
        assertThat(result.durationNanos()).isEqualTo(7L);
        assertThat(result.last()).isTrue();
        assertThat(result.payload()).isEqualTo(payload);
        assertThatThrownBy(r::read).isInstanceOf(EOFException.class);
    }

    @Test
    void whatComesBeforeThePreambleIsHandedOverAndSkipped() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write("[0.001s][warning][cds] bad magic\n\0BRAMBLE".getBytes(StandardCharsets.UTF_8));
        Channel.Writer w = new Channel.Writer(bytes);
        w.preamble();
        w.write(new Channel.Ready());
        Channel.Reader r = new Channel.Reader(new ByteArrayInputStream(bytes.toByteArray()));
        java.util.List<String> junk = new java.util.ArrayList<>();
        r.awaitPreamble(junk::add);
        assertThat(r.read()).isInstanceOf(Channel.Ready.class);
        assertThat(junk).containsExactly("[0.001s][warning][cds] bad magic", "\0BRAMBLE");
    }

    @Test
    void noPreambleIsAnError() {
        byte[] noise = new byte[Channel.PREAMBLE_SEARCH_LIMIT + 10];
        java.util.Arrays.fill(noise, (byte) 'x');
        assertThatThrownBy(() -> new Channel.Reader(new ByteArrayInputStream(noise)).awaitPreamble(l -> { }))
                .hasMessageContaining("no channel preamble");
        assertThatThrownBy(() -> new Channel.Reader(new ByteArrayInputStream(new byte[3])).awaitPreamble(l -> { }))
                .isInstanceOf(EOFException.class);
    }

    @Test
    void malformedFramesAreRejected() {
        byte[] tooLong = ByteBuffer.allocate(5).putInt(Channel.MAX_FRAME_BYTES + 1).put((byte) 1).array();
        assertThatThrownBy(() -> new Channel.Reader(new ByteArrayInputStream(tooLong)).read())
                .hasMessageContaining("malformed frame: length");
        byte[] unknown = ByteBuffer.allocate(5).putInt(1).put((byte) 99).array();
        assertThatThrownBy(() -> new Channel.Reader(new ByteArrayInputStream(unknown)).read())
                .hasMessageContaining("unknown type 99");
    }

    @Test
    void oversizedFrameIsRefusedBeforeWriting() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Channel.Writer w = new Channel.Writer(bytes);
        assertThatThrownBy(() -> w.write(new Channel.Result("id", true, 0, false, new byte[Channel.MAX_FRAME_BYTES])))
                .hasMessageContaining("exceeds the channel limit");
        assertThat(bytes.size()).isZero();
    }
}
