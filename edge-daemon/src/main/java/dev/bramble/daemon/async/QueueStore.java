package dev.bramble.daemon.async;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where the asynchronous queue keeps its invocations and dead letters. Each write is durable when it returns; a
 * failed write changed nothing and throws {@link IllegalStateException} saying so. It decides nothing: when a job
 * runs, is retried or is given up is {@link Retries}'s, and counting what is in flight is {@link AsyncQueue}'s.
 */
interface QueueStore extends AutoCloseable {

    /** Stores {@code entries}, all or none, as enqueued at {@code now} (epoch ms) and due at once. */
    void add(List<AsyncQueue.Entry> entries, long now);

    /** Jobs due at {@code now}, in queue order, none of those in {@code skip}, at most {@code limit}. */
    List<Job> due(long now, int limit, Set<Long> skip);

    /** When the next job is due (epoch ms); {@link Long#MAX_VALUE} when the queue is empty. */
    long nextDue();

    /** Keeps job {@code id} for another attempt at {@code at} (epoch ms). */
    void retryAt(long id, int attempts, String error, long at);

    /** Removes job {@code id}: it is done. */
    void remove(long id);

    /** Moves {@code job} to the dead letters, as given up at {@code now} (epoch ms); returns the letter stored. */
    DeadLetter deadLetter(Job job, DeadLetter.Reason reason, String error, int attempts, long now);

    /** Dead letters, newest first, optionally of one function, with ids below {@code before} (0: any). */
    List<DeadLetter> deadLetters(String function, long before, int limit);

    /** Jobs stored. */
    int count();

    /** Jobs stored with this source. */
    int pending(String source);

    /**
     * What the store holds.
     *
     * @param oldestEnqueuedAt when the oldest job was enqueued (epoch ms); 0 when there is none
     * @param deadLetters      dead letters stored
     */
    record Summary(long oldestEnqueuedAt, long deadLetters) {
    }

    /** What the store holds, for status. */
    Summary summary();

    /** Each function's jobs and dead letters, by function name; ages measured to {@code now} (epoch ms). */
    Map<String, AsyncQueue.FunctionQueue> byFunction(long now);

    /** Stops writing; a write still waiting fails. */
    @Override
    void close();
}
