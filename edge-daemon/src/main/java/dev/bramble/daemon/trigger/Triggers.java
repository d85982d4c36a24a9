package dev.bramble.daemon.trigger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bramble.daemon.async.AsyncQueue;
import dev.bramble.daemon.async.DeadLetter;
import dev.bramble.daemon.async.Job;
import dev.bramble.daemon.env.Environments;
import dev.bramble.daemon.function.FunctionRegistry;
import dev.bramble.daemon.function.FunctionState;
import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.daemon.invoke.Payloads;
import dev.bramble.daemon.invoke.InvokeResult;
import dev.bramble.daemon.invoke.Invoker;
import dev.bramble.daemon.store.Database;
import dev.bramble.protocol.AsyncPolicy;
import dev.bramble.protocol.Topics;
import dev.bramble.protocol.Trigger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The triggers of every function's {@code live} version, kept in step with the registry: an activation (the alias
 * moving) adds and removes MQTT subscriptions, schedules and CoAP paths at once. MQTT messages and schedule runs
 * become asynchronous invocations in the durable queue; this class also carries their outcomes on: replies to
 * MQTT, on-success and on-failure topics, and each trigger's counters.
 */
public final class Triggers implements AsyncQueue.Listener, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Triggers.class.getName());
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final Pattern LEVEL = Pattern.compile("\\{(\\d+)}");
    private static final long WARM_RETRY_MS = 250;

    /** A trigger of a live version. */
    record Active(FunctionVersion version, Trigger trigger) {
        String id() {
            return version.function() + "/" + trigger.name();
        }

        String source() {
            return trigger.type() + ":" + id();
        }
    }

    private final FunctionRegistry registry;
    private final AsyncQueue queue;
    private final Environments environments;
    private final Clock clock;
    private final String region;
    private final String accountId;
    private final Map<String, TriggerStats> stats = new ConcurrentHashMap<>();
    private final MqttBridge mqtt;
    private final Scheduler scheduler;
    private final CoapListener coap;
    /** A lock, not a monitor: a deployment's virtual thread may run this (docs/decisions/0006). */
    private final java.util.concurrent.locks.ReentrantLock reconciling = new java.util.concurrent.locks.ReentrantLock();
    private volatile List<Active> active = List.of();

    /**
     * What the triggers are configured with.
     *
     * @param region    the region in the ARNs of the events they build
     * @param accountId the account in those ARNs
     * @param mqtt      the MQTT connection ({@code mqtt.*}); an empty URL leaves MQTT triggers inactive
     * @param coap      the CoAP listener ({@code coap.*}); port -1 leaves it off
     */
    public record Settings(String region, String accountId, MqttBridge.Settings mqtt, CoapListener.Settings coap) {
    }

    private Triggers(FunctionRegistry registry, AsyncQueue queue, Environments environments, Invoker invoker,
                     Database database, Settings config, Clock clock) {
        this.registry = registry;
        this.queue = queue;
        this.environments = environments;
        this.clock = clock;
        this.region = config.region();
        this.accountId = config.accountId();
        this.scheduler = new Scheduler(database, clock, new ScheduleSink());
        this.mqtt = config.mqtt().url().isEmpty() ? null : MqttBridge.create(config.mqtt(), new MqttHandler(), clock);
        try {
            this.coap = config.coap().port() < 0 ? null
                    : CoapListener.start(config.coap(), this::coapRoute, invoker, this::stats);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Starts every trigger of the live versions and follows the registry from now on. */
    public static Triggers start(FunctionRegistry registry, AsyncQueue queue, Environments environments,
                                 Invoker invoker, Database database, Settings config, Clock clock) {
        Triggers t = new Triggers(registry, queue, environments, invoker, database, config, clock);
        queue.listener(t);
        t.reconcile();
        registry.onChange(t::reconcile);
        // Only now: what the broker kept for this session arrives as soon as the connection is up, and a message
        // matched against triggers not yet known would be acknowledged and lost.
        if (t.mqtt != null) {
            t.mqtt.startConnecting();
        }
        t.scheduler.start();
        return t;
    }

    /** Brings subscriptions, schedules and CoAP paths in line with the live versions. */
    void reconcile() {
        reconciling.lock();
        try {
            List<Active> next = new ArrayList<>();
            for (FunctionState f : registry.functions()) {
                Integer live = f.aliases().get(FunctionRegistry.LIVE);
                FunctionVersion v = live == null ? null : f.versions().get(live);
                if (v != null) {
                    v.manifest().triggers().forEach(t -> next.add(new Active(v, t)));
                }
            }
            List<String> before = active.stream().map(a -> a.source() + "@" + a.version().version()).toList();
            active = List.copyOf(next);
            Map<String, Integer> filters = new TreeMap<>();
            List<Scheduler.Schedule> schedules = new ArrayList<>();
            for (Active a : next) {
                switch (a.trigger()) {
                    case Trigger.Mqtt m -> filters.merge(m.topic(), m.qos(), Math::max);
                    case Trigger.Schedule s -> schedules.add(new Scheduler.Schedule(a.version().function(), s));
                    case Trigger.Coap c -> {
                    }
                }
            }
            if (mqtt != null) {
                mqtt.subscriptions(filters);
            }
            scheduler.update(schedules);
            List<String> after = next.stream().map(a -> a.source() + "@" + a.version().version()).toList();
            if (!after.equals(before)) {
                LOG.log(Level.INFO, "triggers.active triggers={0}", after);
            }
        } finally {
            reconciling.unlock();
        }
    }

    /** Each trigger's counters (received, invoked, failed, dropped) by trigger id. */
    public Map<String, Map<String, Object>> counters() {
        Map<String, Map<String, Object>> out = new java.util.TreeMap<>();
        stats.forEach((id, st) -> out.put(id, st.snapshot()));
        return out;
    }

    TriggerStats stats(String id) {
        return stats.computeIfAbsent(id, k -> new TriggerStats());
    }

    private Optional<Active> coapRoute(String path) {
        return active.stream().filter(a -> a.trigger() instanceof Trigger.Coap c && c.path().equals(path))
                .min((a, b) -> a.version().function().compareTo(b.version().function()));
    }

    /** CoAP paths that are served, for the 4.04 answer. */
    List<String> coapPaths() {
        return active.stream().filter(a -> a.trigger() instanceof Trigger.Coap)
                .map(a -> ((Trigger.Coap) a.trigger()).path()).sorted().toList();
    }

    /** MQTT messages in: stored as one queued invocation per matching trigger, in one transaction. */
    private final class MqttHandler implements MqttBridge.Handler {
        @Override
        public void handle(MqttLink.Message m) {
            List<AsyncQueue.Entry> entries = new ArrayList<>();
            List<Active> matched = matching(m.topic());
            for (Active a : matched) {
                Trigger.Mqtt t = (Trigger.Mqtt) a.trigger();
                entries.add(new AsyncQueue.Entry(UUID.randomUUID().toString(), a.version().function(), null,
                        a.source(), event(m, t), reply(m, t)));
            }
            queue.enqueue(entries);
            matched.forEach(a -> stats(a.id()).received.increment());
        }

        @Override
        public void oversized(MqttLink.Message m) {
            for (Active a : matching(m.topic())) {
                stats(a.id()).received.increment();
                stats(a.id()).dropped.increment();
            }
        }

        private List<Active> matching(String topic) {
            return active.stream().filter(a -> a.trigger() instanceof Trigger.Mqtt t
                    && Topics.matches(t.topic(), topic)).toList();
        }
    }

    /** The event a function gets for an MQTT message (docs/triggers.md). */
    private byte[] event(MqttLink.Message m, Trigger.Mqtt t) {
        ObjectNode e = JSON.createObjectNode();
        e.put("trigger", t.name());
        e.put("topic", m.topic());
        boolean json = m.payload().length > 0 && Payloads.problem(m.payload()) == null;
        try {
            if (json) {
                e.set("payload", JSON.readTree(m.payload()));
            } else {
                e.put("payload", Base64.getEncoder().encodeToString(m.payload()));
            }
            e.put("isBase64Encoded", !json);
            e.put("qos", m.qos());
            e.put("retain", m.retain());
            ObjectNode user = e.putObject("userProperties");
            m.userProperties().forEach(user::put);
            m.responseTopic().ifPresent(r -> e.put("responseTopic", r));
            e.put("receivedAt", clock.instant().truncatedTo(ChronoUnit.MILLIS).toString());
            return JSON.writeValueAsBytes(e);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** Where a result goes: the message's response topic, else the trigger's reply topic, else nowhere. */
    private static String reply(MqttLink.Message m, Trigger.Mqtt t) {
        String topic = m.responseTopic().orElse(null);
        if (topic == null && t.replyTopic().isPresent()) {
            String[] levels = m.topic().split("/", -1);
            Matcher matcher = LEVEL.matcher(t.replyTopic().get());
            StringBuilder sb = new StringBuilder();
            while (matcher.find()) {
                int level = Integer.parseInt(matcher.group(1));
                matcher.appendReplacement(sb, Matcher.quoteReplacement(level < levels.length ? levels[level] : ""));
            }
            matcher.appendTail(sb);
            topic = sb.toString();
        }
        if (topic == null) {
            return null;
        }
        ObjectNode r = JSON.createObjectNode();
        r.put("topic", topic);
        r.put("qos", t.qos());
        m.correlationData().ifPresent(c -> r.put("correlationData", Base64.getEncoder().encodeToString(c)));
        return r.toString();
    }

    /** Schedule runs in: a ScheduledEvent, unless the previous run has not ended and overlap is not allowed. */
    private final class ScheduleSink implements Scheduler.Sink {
        @Override
        public void fire(Scheduler.Schedule s, Instant time) {
            String source = "schedule:" + s.id();
            TriggerStats st = stats(s.id());
            st.received.increment();
            if (!s.trigger().overlap() && queue.pending(source) > 0) {
                st.dropped.increment();
                LOG.log(Level.INFO, "schedule.skipped schedule={0} time={1} reason=previous-run-not-ended",
                        s.id(), time);
                return;
            }
            ObjectNode e = JSON.createObjectNode();
            e.put("version", "0");
            e.put("id", UUID.randomUUID().toString());
            e.put("detail-type", "Scheduled Event");
            e.put("source", "aws.events");
            e.put("account", accountId);
            e.put("time", time.truncatedTo(ChronoUnit.SECONDS).toString());
            e.put("region", region);
            e.putArray("resources").add("arn:aws:events:" + region + ":" + accountId + ":rule/bramble-"
                    + s.function() + "-" + s.trigger().name());
            try {
                e.set("detail", JSON.readTree(s.trigger().detail()));
                queue.enqueue(List.of(new AsyncQueue.Entry(UUID.randomUUID().toString(), s.function(), null, source,
                        JSON.writeValueAsBytes(e), null)));
            } catch (IOException | RuntimeException ex) {
                st.dropped.increment();
                LOG.log(Level.WARNING, "schedule.dropped schedule={0} time={1} error={2}", s.id(), time,
                        ex.toString());
            }
        }

        @Override
        public void skipped(Scheduler.Schedule s, Instant latest) {
            stats(s.id()).dropped.increment();
        }

        @Override
        public void warm(Scheduler.Schedule s, Instant runAt) {
            Thread.ofVirtual().name("bramble-warm-up").start(() -> {
                // Until an environment is idle, or the run is due (then the run starts one itself).
                while (clock.instant().isBefore(runAt)) {
                    try {
                        FunctionVersion v = registry.resolve(s.function(), null);
                        if (environments.warm(v)) {
                            LOG.log(Level.INFO, "schedule.warm schedule={0} version={1} run_at={2}", s.id(),
                                    v.label(), runAt);
                            return;
                        }
                        Thread.sleep(WARM_RETRY_MS);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        LOG.log(Level.WARNING, "schedule.warm-failed schedule={0} error={1}", s.id(), e.toString());
                        return;
                    }
                }
            });
        }
    }

    // --- outcomes of queued invocations -------------------------------------------------------------------

    @Override
    public void attempted(Job job, boolean failed) {
        String id = triggerId(job.source());
        if (id != null) {
            stats(id).invoked.increment();
            if (failed) {
                stats(id).failed.increment();
            }
        }
    }

    @Override
    public void succeeded(Job job, InvokeResult result, AsyncPolicy policy) {
        if (job.reply() != null && mqtt != null) {
            try {
                var r = JSON.readTree(job.reply());
                Optional<byte[]> correlation = r.has("correlationData")
                        ? Optional.of(Base64.getDecoder().decode(r.get("correlationData").asText())) : Optional.empty();
                mqtt.publish(r.get("topic").asText(), result.payload(), r.get("qos").asInt(), correlation);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "mqtt.reply-failed request={0} error={1}", job.requestId(), e.toString());
            }
        }
        policy.onSuccessTopic().ifPresent(topic -> destination(topic, record(job, "Success", null, job.attempts() + 1,
                result.payload())));
    }

    @Override
    public void deadLettered(DeadLetter d, AsyncPolicy policy) {
        String id = triggerId(d.source());
        policy.onFailureTopic().ifPresent(topic -> {
            Map<String, Object> r = record(new Job(0, d.requestId(), d.function(), d.qualifier(), d.source(),
                    d.payload(), null, d.enqueuedAt(), d.attempts(), d.error()), d.reason().json(), d.error(),
                    d.attempts(), null);
            r.put("deadLetterId", d.id());
            destination(topic, r);
        });
        if (id != null) {
            LOG.log(Level.INFO, "trigger.dead-letter trigger={0} request={1}", id, d.requestId());
        }
    }

    /** A destination record: Lambda's shape (requestContext, requestPayload, responsePayload) in JSON. */
    private Map<String, Object> record(Job job, String condition, String error, int attempts, byte[] response) {
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("requestId", job.requestId());
        ctx.put("functionArn", "arn:aws:lambda:" + region + ":" + accountId + ":function:" + job.function());
        ctx.put("condition", condition);
        ctx.put("approximateInvokeCount", attempts);
        ctx.put("source", job.source());
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("version", "1.0");
        r.put("timestamp", clock.instant().toString());
        r.put("requestContext", ctx);
        r.put("requestPayload", parse(job.payload()));
        if (error != null) {
            r.put("responsePayload", parse(error.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } else if (response != null) {
            r.put("responsePayload", parse(response));
        }
        return r;
    }

    private static Object parse(byte[] json) {
        try {
            return json.length == 0 ? null : JSON.readTree(json);
        } catch (IOException e) {
            return Base64.getEncoder().encodeToString(json);
        }
    }

    private void destination(String topic, Map<String, Object> record) {
        if (mqtt == null) {
            LOG.log(Level.WARNING, "destination.skipped topic={0} reason=no-mqtt-url", topic);
            return;
        }
        try {
            mqtt.publish(topic, JSON.writeValueAsBytes(record), 1, Optional.empty());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String triggerId(String source) {
        int colon = source.indexOf(':');
        return colon < 0 ? null : source.substring(colon + 1);
    }

    /** What {@code /v1/status} shows of a listener: {@link MqttBridge.Status}, {@link CoapListener.Status}, or off. */
    public interface ListenerStatus {
    }

    /** A listener not configured, and which option would turn it on. */
    public record Inactive(String state, String reason) implements ListenerStatus {
        Inactive(String reason) {
            this("inactive", reason);
        }
    }

    /**
     * The triggers for {@code /v1/status}.
     *
     * @param triggers every trigger of a live version: its kind's own fields and its counters
     * @param mqtt     the MQTT connection
     * @param coap     the CoAP listener
     */
    public record Status(List<Map<String, Object>> triggers, ListenerStatus mqtt, ListenerStatus coap) {
    }

    /** Every trigger of a live version with its counters, and the MQTT and CoAP listeners' state. */
    public Status status() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (Active a : active) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("function", a.version().function());
            m.put("version", a.version().version());
            m.put("name", a.trigger().name());
            m.put("type", a.trigger().type());
            switch (a.trigger()) {
                case Trigger.Mqtt t -> {
                    m.put("topic", t.topic());
                    m.put("active", mqtt != null);
                    if (mqtt == null) {
                        m.put("inactiveReason", "mqtt.url is not configured");
                    }
                }
                case Trigger.Schedule s -> {
                    m.put("expression", s.expression().text());
                    m.put("timezone", s.timezone().getId());
                    m.put("active", true);
                    s.expression().next(clock.instant(), s.timezone()).ifPresent(n -> m.put("nextRun", n.toString()));
                }
                case Trigger.Coap c -> {
                    m.put("path", "fn/" + c.path());
                    m.put("active", coap != null);
                    if (coap == null) {
                        m.put("inactiveReason", "coap.port is not configured");
                    }
                }
            }
            m.putAll(stats(a.id()).snapshot());
            list.add(m);
        }
        return new Status(list, mqtt == null ? new Inactive("mqtt.url is not configured") : mqtt.status(),
                coap == null ? new Inactive("coap.port is not configured") : coap.status());
    }

    /** The CoAP port, when CoAP is on. */
    public Optional<Integer> coapPort() {
        return coap == null ? Optional.empty() : Optional.of(coap.port());
    }

    @Override
    public void close() {
        scheduler.close();
        if (mqtt != null) {
            mqtt.close();
        }
        if (coap != null) {
            coap.close();
        }
    }
}
