package dev.bramble.sync;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.bramble.protocol.TelemetryAck;
import dev.bramble.protocol.TelemetryBatch;
import dev.bramble.protocol.TelemetryEntry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.zip.GZIPOutputStream;

/**
 * Sends the outbox to the deployer: a batch when enough entries (count or bytes) wait or the oldest has waited
 * long enough, gzip-compressed, with the device token; deletes what the deployer acknowledges. Failures back off
 * exponentially with jitter; an optional bandwidth cap paces the bytes sent. Nothing is kept in memory between
 * batches, so a restart simply resumes from the oldest entry the outbox still holds.
 */
final class Uploader {
    private static final System.Logger LOG = System.getLogger(Uploader.class.getName());
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final Outbox outbox;
    private final SyncAgent.Settings settings;
    private final Supplier<Optional<SyncAgent.Endpoint>> endpoints;
    private final Clock clock;
    private final HttpClient http;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final Thread thread;
    private final AtomicLong uploadedEntries = new AtomicLong();
    private final AtomicLong uploadedBytes = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private volatile LinkState state = LinkState.IDLE;
    private volatile Instant lastSuccess;
    private volatile Instant lastAttempt;
    private volatile SyncFailure lastFailure;
    private volatile String lastError;
    private volatile long ackedSeq;
    private volatile boolean closing;
    private int failures;
    private int maxEntries;
    private long maxBytes;
    private long paceUntilNanos;

    Uploader(Outbox outbox, SyncAgent.Settings settings, Supplier<Optional<SyncAgent.Endpoint>> endpoints,
             Clock clock) {
        this.outbox = outbox;
        this.settings = settings;
        this.endpoints = endpoints;
        this.clock = clock;
        this.maxEntries = settings.batchMaxEntries();
        this.maxBytes = settings.batchMaxBytes();
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
        this.http = (settings.deployerTls() == null ? b : b.sslContext(settings.deployerTls())).build();
        this.thread = Thread.ofPlatform().name("bramble-uploader").daemon(true).unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /** Makes the uploader look again now: new entries, or a link that may be back. */
    void nudge() {
        lock.lock();
        try {
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        while (!closing) {
            Optional<SyncAgent.Endpoint> endpoint = endpoints.get();
            if (endpoint.isEmpty()) {
                state = LinkState.WAITING_FOR_IDENTITY;
                pause(Duration.ofSeconds(1));
                continue;
            }
            Duration wait = untilDue();
            if (!wait.isZero()) {
                pause(wait);
                continue;
            }
            List<TelemetryEntry> batch = outbox.read(ackedSeq, maxEntries, maxBytes);
            if (batch.isEmpty()) {
                // Only acknowledged entries the writer has not deleted yet: look again shortly.
                pause(Duration.ofMillis(50));
                continue;
            }
            send(endpoint.get(), batch);
        }
    }

    /** Zero when a batch is due; else how long until the oldest entry reaches the batch age (at most a second). */
    private Duration untilDue() {
        Outbox.Backlog b = outbox.backlog();
        if (b.entries() == 0) {
            return Duration.ofSeconds(1);
        }
        if (b.entries() >= maxEntries || b.bytes() >= maxBytes) {
            return Duration.ZERO;
        }
        long age = clock.millis() - b.oldestTs();
        long left = settings.batchMaxAge().toMillis() - age;
        return left <= 0 ? Duration.ZERO : Duration.ofMillis(Math.min(left, 1000));
    }

    private void send(SyncAgent.Endpoint endpoint, List<TelemetryEntry> batch) {
        Outbox.Backlog b = outbox.backlog();
        byte[] body = gzip(new TelemetryBatch(outbox.id(), batch, new TelemetryBatch.Backlog(b.entries(), b.bytes(),
                b.oldestTs() == 0 ? 0 : Math.max(0, (clock.millis() - b.oldestTs()) / 1000), b.dropped())));
        pace(body.length);
        lastAttempt = clock.instant();
        long last = batch.getLast().seq();
        try {
            HttpResponse<byte[]> res = http.send(HttpRequest.newBuilder(URI.create(endpoint.deployer() + "/v1/devices/"
                            + endpoint.deviceId() + "/telemetry"))
                    .timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + endpoint.token())
                    .header("Content-Type", "application/json")
                    .header("Content-Encoding", "gzip")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
            int status = res.statusCode();
            if (status == 200) {
                TelemetryAck ack = JSON.readValue(res.body(), TelemetryAck.class);
                // Never beyond what was sent: a deployer ahead of this outbox must not delete unsent entries.
                long upTo = Math.min(ack.ackedSeq(), last);
                outbox.ack(upTo);
                ackedSeq = Math.max(ackedSeq, upTo);
                uploadedEntries.addAndGet(ack.stored());
                duplicates.addAndGet(ack.duplicates());
                uploadedBytes.addAndGet(body.length);
                batches.incrementAndGet();
                lastSuccess = clock.instant();
                if (state != LinkState.ONLINE) {
                    LOG.log(Level.INFO, "sync.online deployer={0} backlog={1}", endpoint.deployer(),
                            outbox.backlog().entries());
                }
                state = LinkState.ONLINE;
                failures = 0;
                maxEntries = settings.batchMaxEntries();
                maxBytes = settings.batchMaxBytes();
                return;
            }
            String text = new String(res.body(), java.nio.charset.StandardCharsets.UTF_8);
            SyncFailure f = status == 401 || status == 403 ? SyncFailure.UNAUTHORIZED
                    : status == 413 ? SyncFailure.TOO_LARGE
                    : status >= 500 ? SyncFailure.SERVER_ERROR : SyncFailure.REJECTED;
            if (f == SyncFailure.TOO_LARGE && batch.size() > 1) {
                maxEntries = Math.max(1, batch.size() / 2);
                maxBytes = Math.max(1, maxBytes / 2);
            }
            failed(f, "HTTP " + status + " " + text.substring(0, Math.min(200, text.length())));
        } catch (IOException e) {
            failed(SyncFailure.UNREACHABLE, e.toString());
        } catch (InterruptedException e) {
            if (!closing) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void failed(SyncFailure failure, String message) {
        if (state != LinkState.OFFLINE || failure != lastFailure) {
            LOG.log(Level.WARNING, "sync.failed code={0} error={1} backlog={2}", failure, message,
                    outbox.backlog().entries());
        }
        state = LinkState.OFFLINE;
        lastFailure = failure;
        lastError = message;
        failures++;
        if (failure != SyncFailure.TOO_LARGE) {
            pause(backoff(failures));
        }
    }

    /** Doubles from the minimum to the maximum; a random half of it is jitter, so a fleet does not retry in step. */
    private Duration backoff(int attempt) {
        long min = settings.backoffMin().toMillis();
        long max = settings.backoffMax().toMillis();
        long d = Math.min(max, min << Math.min(20, attempt - 1));
        return Duration.ofMillis(d / 2 + ThreadLocalRandom.current().nextLong(d / 2 + 1));
    }

    /** The bandwidth cap: each batch reserves its bytes' share of time; the next one waits until it is over. */
    private void pace(int bytes) {
        long rate = settings.bandwidthBytesPerSecond();
        if (rate <= 0) {
            return;
        }
        long now = System.nanoTime();
        long start = Math.max(now, paceUntilNanos);
        if (start > now) {
            pause(Duration.ofNanos(start - now));
        }
        paceUntilNanos = start + bytes * 1_000_000_000L / rate;
    }

    private void pause(Duration d) {
        lock.lock();
        try {
            if (!closing) {
                wake.await(d.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closing = true;
        } finally {
            lock.unlock();
        }
    }

    private static byte[] gzip(TelemetryBatch batch) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 8192)) {
            JSON.writeValue(gz, batch);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** What {@code /v1/status} shows of the link. */
    Status status() {
        return new Status(state, lastSuccess, lastAttempt, lastFailure, lastError, ackedSeq, uploadedEntries.get(),
                duplicates.get(), batches.get(), uploadedBytes.get());
    }

    /**
     * The uploader's state.
     *
     * @param bytesSent compressed bytes sent in acknowledged batches
     */
    record Status(LinkState link, Instant lastSuccess, Instant lastAttempt, SyncFailure lastFailure, String lastError,
                  long ackedSeq, long uploaded, long duplicates, long batches, long bytesSent) {
    }

    void close() {
        closing = true;
        nudge();
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
