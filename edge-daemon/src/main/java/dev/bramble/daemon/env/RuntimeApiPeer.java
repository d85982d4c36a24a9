package dev.bramble.daemon.env;

import dev.bramble.runtime.Channel;

import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One environment's side of Lambda's Runtime API: the invocations sent to it wait here until its runtime asks for
 * the next one ({@code GET …/invocation/next}), and its answers ({@code …/response}, {@code …/error},
 * {@code …/init/error}) complete them. The HTTP side is {@code dev.bramble.daemon.http.RuntimeApiServer}, which
 * hands a request here only when {@link RuntimeApiHub} has traced its connection to a process of this environment.
 * The runtime's first {@code next} says its initialisation is done, as on Lambda.
 *
 * <p>Every wait is on a future and every lock is held for a few field updates only, so neither the invocations nor
 * the Runtime API's long polls (virtual threads both) ever pin a carrier.
 */
public final class RuntimeApiPeer implements Peer {
    /** Lambda's answer to a request id that is not this environment's invocation in flight. */
    public static final String INVALID_REQUEST_ID = "InvalidRequestID";

    private final String stream;
    private final String function;
    private final long rootPid;
    private final Consumer<String> endOfLog;
    private final Executor io;
    private final CompletableFuture<Channel.Frame> first = new CompletableFuture<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<Pending> queued = new ArrayDeque<>();
    private final ArrayDeque<CompletableFuture<Channel.Invoke>> polls = new ArrayDeque<>();
    private final Map<String, Pending> running = new HashMap<>();
    private IOException ended;

    private static final class Pending {
        final Channel.Invoke invoke;
        final CompletableFuture<Channel.Result> answer;
        long handedAt;

        Pending(Channel.Invoke invoke, CompletableFuture<Channel.Result> answer) {
            this.invoke = invoke;
            this.answer = answer;
        }
    }

    /**
     * @param stream   the environment's log stream, for messages
     * @param function the function's name
     * @param rootPid  the first process of the environment: its connections are traced to it or its descendants
     * @param exit     completes when that process has exited: everything waiting fails then
     * @param endOfLog writes an invocation's end-of-log marker into the environment's log pipe, after everything the
     *                 runtime wrote before its answer; run on {@code io}
     * @param io       platform threads, for those writes (a pipe can be full)
     */
    RuntimeApiPeer(String stream, String function, long rootPid, CompletableFuture<?> exit,
                   Consumer<String> endOfLog, Executor io) {
        this.stream = stream;
        this.function = function;
        this.rootPid = rootPid;
        this.endOfLog = endOfLog;
        this.io = io;
        exit.whenComplete((x, e) -> end(new EOFException("the runtime exited")));
    }

    @Override
    public void start() {
        // nothing reads here: the Runtime API's requests arrive through RuntimeApiHub
    }

    public String stream() {
        return stream;
    }

    public String function() {
        return function;
    }

    long rootPid() {
        return rootPid;
    }

    @Override
    public Optional<Channel.Frame> awaitFirst(long timeoutMs) {
        return Peer.awaitFirst(first, timeoutMs);
    }

    @Override
    public CompletableFuture<Channel.Result> send(Channel.Invoke invoke) {
        CompletableFuture<Channel.Result> answer = new CompletableFuture<>();
        Pending p = new Pending(invoke, answer);
        CompletableFuture<Channel.Invoke> poll = null;
        lock.lock();
        try {
            if (ended != null) {
                answer.completeExceptionally(ended);
                return answer;
            }
            // a poll whose connection is gone was failed by the server; take the next one
            while (poll == null && !polls.isEmpty()) {
                poll = polls.poll();
                if (poll.isDone()) {
                    poll = null;
                }
            }
            if (poll == null) {
                queued.add(p);
            } else {
                p.handedAt = System.nanoTime();
                running.put(invoke.requestId(), p);
            }
        } finally {
            lock.unlock();
        }
        if (poll != null) {
            poll.complete(invoke);
        }
        return answer;
    }

    /**
     * {@code GET /2018-06-01/runtime/invocation/next}: the next invocation, now or when one is sent. The first call
     * tells the daemon the runtime is initialised.
     */
    public CompletableFuture<Channel.Invoke> next() {
        first.complete(new Channel.Ready());
        lock.lock();
        try {
            if (ended != null) {
                return CompletableFuture.failedFuture(ended);
            }
            Pending p = queued.poll();
            if (p != null) {
                p.handedAt = System.nanoTime();
                running.put(p.invoke.requestId(), p);
                return CompletableFuture.completedFuture(p.invoke);
            }
            CompletableFuture<Channel.Invoke> poll = new CompletableFuture<>();
            polls.add(poll);
            return poll;
        } finally {
            lock.unlock();
        }
    }

    /**
     * A poll that will not be answered (its connection closed before an invocation came). An invocation already
     * handed to it is given back to the queue's head.
     */
    public void abandon(CompletableFuture<Channel.Invoke> poll) {
        if (poll.cancel(false)) {
            return;
        }
        Channel.Invoke handed = poll.getNow(null);
        lock.lock();
        try {
            Pending p = handed == null ? null : running.remove(handed.requestId());
            if (p != null && ended == null) {
                queued.addFirst(p);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@code …/invocation/{id}/response} ({@code ok}) or {@code …/error}: the answer to an invocation in flight.
     * False when {@code requestId} is not one of this environment's invocations in flight (answered already, never
     * sent here, or another environment's): Lambda's {@link #INVALID_REQUEST_ID}.
     */
    public boolean answer(String requestId, boolean ok, byte[] payload) {
        Pending p;
        lock.lock();
        try {
            p = running.remove(requestId);
        } finally {
            lock.unlock();
        }
        if (p == null) {
            return false;
        }
        long nanos = System.nanoTime() - p.handedAt;
        p.answer.complete(new Channel.Result(requestId, ok, nanos, false, payload));
        try {
            io.execute(() -> endOfLog.accept(requestId));
        } catch (RejectedExecutionException e) {
            // the daemon is stopping: the log pump closes the capture at the stream's end
        }
        return true;
    }

    /**
     * {@code /2018-06-01/runtime/init/error}: the runtime could not initialise. False once it has (its first
     * {@code next}): Lambda's state transition error.
     */
    public boolean initError(byte[] error) {
        return first.complete(new Channel.InitError(error));
    }

    /** Whether the request id is an invocation in flight here. */
    public boolean running(String requestId) {
        lock.lock();
        try {
            return running.containsKey(requestId);
        } finally {
            lock.unlock();
        }
    }

    private void end(IOException e) {
        List<CompletableFuture<Channel.Result>> answers = new ArrayList<>();
        List<CompletableFuture<Channel.Invoke>> waiting;
        lock.lock();
        try {
            if (ended != null) {
                return;
            }
            ended = e;
            queued.forEach(p -> answers.add(p.answer));
            running.values().forEach(p -> answers.add(p.answer));
            queued.clear();
            running.clear();
            waiting = List.copyOf(polls);
            polls.clear();
        } finally {
            lock.unlock();
        }
        first.completeExceptionally(e);
        answers.forEach(a -> a.completeExceptionally(e));
        waiting.forEach(w -> w.completeExceptionally(e));
    }

    @Override
    public boolean ended() {
        lock.lock();
        try {
            return ended != null;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean oversizedFrame() {
        return false; // the server refuses an answer past Lambda's limit before it arrives here
    }

    @Override
    public Optional<Long> awaitArchive(long timeoutMs) {
        return Optional.empty(); // class-data archives are a JVM's; a Runtime API environment trains none
    }
}
