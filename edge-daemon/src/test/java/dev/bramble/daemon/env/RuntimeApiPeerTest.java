package dev.bramble.daemon.env;

import dev.bramble.runtime.Channel;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Runtime API's per-environment queue, without an HTTP server or a process: its rules, one by one. */
class RuntimeApiPeerTest {
    final CompletableFuture<Object> exit = new CompletableFuture<>();
    final List<String> markers = new CopyOnWriteArrayList<>();
    final RuntimeApiPeer peer = new RuntimeApiPeer("s", "f", 1, exit, markers::add, Runnable::run);

    static Channel.Invoke invoke(String id) {
        return new Channel.Invoke(id, System.currentTimeMillis() + 1000, "arn", "", "{}".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theFirstPollSaysTheRuntimeIsReadyAndAnInvocationWaitsForAPoll() throws Exception {
        assertThat(peer.awaitFirst(1)).isEmpty();
        CompletableFuture<Channel.Result> answer = peer.send(invoke("a"));
        CompletableFuture<Channel.Invoke> poll = peer.next();
        assertThat(peer.awaitFirst(1)).containsInstanceOf(Channel.Ready.class);
        assertThat(poll.get().requestId()).isEqualTo("a");
        assertThat(peer.answer("a", true, "1".getBytes(StandardCharsets.UTF_8))).isTrue();
        Channel.Result r = answer.get();
        assertThat(r.ok()).isTrue();
        assertThat(new String(r.payload(), StandardCharsets.UTF_8)).isEqualTo("1");
        assertThat(markers).containsExactly("a");
    }

    @Test
    void aPollWaitsForTheNextInvocationAndEachIsAnsweredOnce() throws Exception {
        CompletableFuture<Channel.Invoke> poll = peer.next();
        assertThat(poll).isNotDone();
        CompletableFuture<Channel.Result> answer = peer.send(invoke("b"));
        assertThat(poll.get().requestId()).isEqualTo("b");
        assertThat(peer.answer("other", true, new byte[0])).as("not in flight here").isFalse();
        assertThat(peer.answer("b", false, "{}".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(peer.answer("b", true, new byte[0])).as("answered already").isFalse();
        assertThat(answer.get().ok()).isFalse();
    }

    @Test
    void anInvocationHandedToAPollWhoseConnectionDiedGoesToTheNextPoll() throws Exception {
        CompletableFuture<Channel.Invoke> dead = peer.next();
        CompletableFuture<Channel.Result> answer = peer.send(invoke("c"));
        assertThat(dead.get().requestId()).isEqualTo("c");
        peer.abandon(dead);
        assertThat(peer.running("c")).isFalse();
        assertThat(peer.next().get().requestId()).isEqualTo("c");
        assertThat(peer.answer("c", true, new byte[0])).isTrue();
        assertThat(answer).isDone();
    }

    @Test
    void anInitErrorIsTheFirstWordOnlyBeforeTheFirstPoll() {
        assertThat(peer.initError("{\"errorType\":\"x\"}".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(peer.awaitFirst(1)).containsInstanceOf(Channel.InitError.class);
        RuntimeApiPeer ready = new RuntimeApiPeer("s", "f", 1, new CompletableFuture<>(), m -> { }, Runnable::run);
        ready.next();
        assertThat(ready.initError(new byte[0])).isFalse();
    }

    @Test
    void whenTheRuntimeExitsEverythingWaitingFailsAndNothingNewIsTaken() {
        CompletableFuture<Channel.Invoke> poll = peer.next();
        exit.complete(null);
        assertThat(peer.ended()).isTrue();
        assertThatThrownBy(poll::get).isInstanceOf(ExecutionException.class);
        assertThat(peer.send(invoke("d"))).isCompletedExceptionally();
        assertThat(peer.next()).isCompletedExceptionally();
    }
}
