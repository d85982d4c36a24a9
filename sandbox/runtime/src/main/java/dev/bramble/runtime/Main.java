package dev.bramble.runtime;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.LambdaRuntime;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;

import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The main class of a child JVM. The environment gives it {@code LAMBDA_TASK_ROOT} (the unpacked bundle) and
 * {@code _HANDLER}; stdin and stdout carry {@link Channel} frames; everything the function prints, on either
 * stream, goes to stderr, which the daemon stores as the function's log.
 */
public final class Main {
    private final Channel.Reader channelIn;
    private final Channel.Writer channelOut;
    private final PrintStream log;
    @SuppressWarnings("rawtypes")
    private static final PojoSerializer<Map> CLIENT_CONTEXT = Serializers.own(Map.class);
    private final int concurrency;
    private final ReentrantLock writing = new ReentrantLock();
    private final AtomicBoolean fatal = new AtomicBoolean();

    private Main(Channel.Reader channelIn, Channel.Writer channelOut, PrintStream log, int concurrency) {
        this.channelIn = channelIn;
        this.channelOut = channelOut;
        this.log = log;
        this.concurrency = concurrency;
    }

    /** Lambda's error for a response over its 6 MB. */
    static final String RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge";

    /** Lambda's message for a response over its 6 MB. */
    static String responseTooLarge() {
        return "Response payload size exceeded maximum allowed payload size (" + Channel.MAX_RESPONSE_BYTES
                + " bytes).";
    }

    /** Set by the daemon for a class-data archive's training run ({@link Training}). */
    static final String TRAIN = "BRAMBLE_TRAIN";

    /**
     * A training run (the daemon's, for the version's class-data archive): the handler loaded and constructed as for a
     * cold start and the runtime's mapping paths used; then the archive is dumped and sent ({@link Training}), and
     * the runtime waits for the daemon to close the channel.
     */
    private int train(String handlerName, String taskRoot) throws IOException {
        FunctionClassLoader loader = FunctionClassLoader.create(Path.of(taskRoot));
        Thread.currentThread().setContextClassLoader(loader);
        Handler handler;
        try {
            handler = Handler.load(handlerName, loader);
        } catch (Handler.InitFailure e) {
            log.flush();
            channelOut.write(new Channel.InitError(e.error()));
            return 1;
        }
        Training.mapSamples(handler);
        ErrorObject.of(new IllegalStateException("training"));
        log.flush();
        channelOut.write(new Channel.Ready());
        Training.dumpAndSend(Path.of(System.getProperty("java.io.tmpdir"), "bramble-archive.jsa"), channelOut);
        while (true) {
            try {
                channelIn.read();
            } catch (EOFException closed) {
                return 0;
            }
        }
    }

    /** How many invocations this runtime runs at once; 1 unless the function asks for more. */
    private static int concurrency(String value) {
        try {
            return value == null ? 1 : Math.max(1, Integer.parseInt(value));
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    /**
     * Runs until the daemon closes the channel.
     *
     * @param args unused; the environment carries the configuration
     */
    public static void main(String[] args) throws IOException {
        // Take the channel before any user code runs: a function printing to System.out, or reading System.in,
        // must never corrupt it.
        Channel.Reader in = new Channel.Reader(new FileInputStream(FileDescriptor.in));
        Channel.Writer out = new Channel.Writer(new FileOutputStream(FileDescriptor.out));
        int concurrency = concurrency(System.getenv("BRAMBLE_CONCURRENCY"));
        OutputStream stderr = new BufferedOutputStream(new FileOutputStream(FileDescriptor.err), 8192);
        PrintStream log = new PrintStream(concurrency > 1 ? new TaggedLog(stderr) : stderr, true,
                StandardCharsets.UTF_8);
        System.setOut(log);
        System.setErr(log);
        System.setIn(new ByteArrayInputStream(new byte[0]));
        int code = new Main(in, out, log, concurrency).run(System.getenv());
        log.flush();
        System.exit(code);
    }

    private int run(Map<String, String> env) throws IOException {
        channelOut.preamble();
        LambdaContext.FunctionFacts facts = LambdaContext.FunctionFacts.fromEnvironment(env);
        LambdaLogger logger = new StreamLogger(log);
        installGlobalLogger(logger);
        String handlerName = env.get("_HANDLER");
        String taskRoot = env.get("LAMBDA_TASK_ROOT");
        if (handlerName == null || taskRoot == null) {
            channelOut.write(new Channel.InitError(ErrorObject.of("Runtime.InvalidEntrypoint",
                    "_HANDLER and LAMBDA_TASK_ROOT must be set", null)));
            return 2;
        }
        if ("1".equals(env.get(TRAIN))) {
            return train(handlerName, taskRoot);
        }
        Handler handler;
        try {
            FunctionClassLoader loader = FunctionClassLoader.create(Path.of(taskRoot));
            Thread.currentThread().setContextClassLoader(loader);
            handler = Handler.load(handlerName, loader);
        } catch (Handler.InitFailure e) {
            log.flush();
            channelOut.write(new Channel.InitError(e.error()));
            return 1;
        }
        log.flush();
        // Threads for concurrent invocations are made now, not per invocation.
        ThreadPoolExecutor workers = concurrency > 1 ? new ThreadPoolExecutor(concurrency, concurrency, 0,
                TimeUnit.SECONDS, new LinkedBlockingQueue<>()) : null;
        if (workers != null) {
            workers.prestartAllCoreThreads();
        }
        channelOut.write(new Channel.Ready());
        while (!fatal.get()) {
            Channel.Frame frame;
            try {
                frame = channelIn.read();
            } catch (EOFException closed) {
                return 0;
            }
            if (!(frame instanceof Channel.Invoke invoke)) {
                throw new IOException("unexpected frame from the daemon: " + frame.getClass().getSimpleName());
            }
            if (workers == null) {
                handle(invoke, handler, facts, logger);
            } else {
                workers.execute(() -> {
                    try {
                        handle(invoke, handler, facts, logger);
                    } catch (IOException e) {
                        fatal.set(true); // the channel is broken; the daemon will see the exit
                    }
                });
            }
        }
        return 1;
    }

    /** Runs one invocation and answers it; returns true when the JVM must not be reused. */
    private void handle(Channel.Invoke invoke, Handler handler, LambdaContext.FunctionFacts facts,
                        LambdaLogger logger) throws IOException {
        TaggedLog.serving(invoke.requestId());
        LambdaContext context = new LambdaContext(facts, invoke.requestId(), invoke.invokedArn(),
                invoke.deadlineEpochMs(), clientContext(invoke.clientContext()), logger);
        long start = System.nanoTime();
        byte[] result;
        boolean ok;
        boolean last = false;
        try {
            result = handler.invoke(invoke.payload(), context);
            ok = true;
            if (result.length > Channel.MAX_RESPONSE_BYTES) {
                result = ErrorObject.of(RESPONSE_TOO_LARGE, responseTooLarge(), null);
                ok = false;
            }
        } catch (Throwable t) {
            result = ErrorObject.of(t);
            ok = false;
            last = t instanceof VirtualMachineError;
        }
        long nanos = System.nanoTime() - start;
        TaggedLog.serving(null);
        log.println(Channel.END_OF_LOG_MARKER + invoke.requestId());
        log.flush();
        if (last) {
            this.fatal.set(true);
        }
        writing.lock();
        try {
            channelOut.write(new Channel.Result(invoke.requestId(), ok, nanos, last, result));
        } finally {
            writing.unlock();
        }
    }

    private ClientContext clientContext(String json) {
        if (json.isEmpty()) {
            return null;
        }
        Map<?, ?> node;
        try {
            node = CLIENT_CONTEXT.fromJson(json);
        } catch (RuntimeException e) {
            // The daemon checked it is JSON before sending; an unreadable one is simply absent.
            return null;
        }
        if (node == null) {
            return null;
        }
        LambdaContext.ParsedClient client = node.get("client") instanceof Map<?, ?> c ? new LambdaContext.ParsedClient(
                text(c.get("installation_id")), text(c.get("app_title")), text(c.get("app_version_name")),
                text(c.get("app_version_code")), text(c.get("app_package_name"))) : null;
        return new LambdaContext.ParsedClientContext(client, strings(node.get("custom")), strings(node.get("env")));
    }

    private static String text(Object value) {
        return value == null ? null : String.valueOf(value);
    }

    private static Map<String, String> strings(Object object) {
        Map<String, String> map = new LinkedHashMap<>();
        if (object instanceof Map<?, ?> m) {
            m.forEach((k, v) -> map.put(String.valueOf(k), v == null ? "null" : String.valueOf(v)));
        }
        return map;
    }

    /** {@link LambdaRuntime#getLogger()} is static in aws-lambda-java-core; point it at the function's log. */
    private static void installGlobalLogger(LambdaLogger logger) {
        try {
            Field field = LambdaRuntime.class.getDeclaredField("logger");
            field.setAccessible(true);
            field.set(null, logger);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // An older aws-lambda-java-core without the field: LambdaRuntime.getLogger() then prints to
            // System.out, which is the function's log as well.
        }
    }
}
