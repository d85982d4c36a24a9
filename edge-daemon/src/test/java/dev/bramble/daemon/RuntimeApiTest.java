package dev.bramble.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Functions in other languages, Lambda's way: a {@code provided} bootstrap, and the managed {@code python3} and
 * {@code nodejs} runtimes, each speaking the Runtime API the daemon serves to its environment, in real sandboxed
 * environments (real python3 and node, under their own uids and cgroups when the tests run as root). What a
 * Java function gets — START/END/REPORT with Init Duration, Lambda's error objects, timeouts that replace the
 * environment, the uid and the /tmp quota — they get too; and no environment, nor anything outside one, reaches
 * another's invocations.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RuntimeApiTest {
    @TempDir
    static Path dir;
    TestDaemon d;
    final HttpClient http = HttpClient.newHttpClient();

    static final String PY_MANIFEST = """
            {"name": "%s", "runtime": "python3", "handler": "%s", "memoryMb": 64, "timeoutSeconds": %d,
             "tmpMb": 2, "environment": {"COLOUR": "green"}}""";

    static final String PY_CODE = """
            import json, os, time, urllib.request, urllib.error
            print("module loaded")

            def handle(event, context):
                print("handling", json.dumps(event))
                if event.get("fail"):
                    raise ValueError("asked to fail: " + event["fail"])
                if event.get("sleep"):
                    time.sleep(event["sleep"])
                if event.get("unjson"):
                    return {1, 2}
                if event.get("huge"):
                    return "x" * (7 << 20)
                if event.get("fill"):
                    try:
                        with open("/tmp/fill", "wb") as f:
                            f.write(b"x" * (event["fill"] << 20))
                        return {"filled": True}
                    except OSError as e:
                        return {"filled": False, "error": e.strerror}
                if event.get("forge"):
                    # answer another environment's invocation: the Runtime API must refuse it
                    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
                    req = urllib.request.Request("http://%s/2018-06-01/runtime/invocation/%s/response"
                                                 % (api, event["forge"]), data=b'{"forged": true}', method="POST")
                    try:
                        with urllib.request.urlopen(req) as r:
                            return {"status": r.status}
                    except urllib.error.HTTPError as e:
                        return {"status": e.code, "body": json.loads(e.read())}
                return {"event": event, "requestId": context.aws_request_id, "function": context.function_name,
                        "version": context.function_version, "arn": context.invoked_function_arn,
                        "memory": context.memory_limit_in_mb, "remaining": context.get_remaining_time_in_millis(),
                        "stream": context.log_stream_name, "uid": os.getuid(), "colour": os.environ["COLOUR"],
                        "trace": os.environ.get("_X_AMZN_TRACE_ID")}
            """;

    static final String NODE_CODE = """
            console.log('module loaded');
            export const handler = async (event, context) => {
              console.log('handling', JSON.stringify(event));
              if (event.fail) { throw new TypeError('asked to fail: ' + event.fail); }
              return { event, requestId: context.awsRequestId, function: context.functionName,
                arn: context.invokedFunctionArn, remaining: context.getRemainingTimeInMillis(),
                uid: process.getuid(), node: process.version };
            };
            export const callback = (event, context, done) => { setTimeout(() => done(null, { called: event.n }), 5); };
            """;

    /** A provided runtime whose bootstrap is a shell script with curl, as Lambda's own tutorial writes one. */
    static final String SHELL_BOOTSTRAP = """
            #!/bin/sh
            set -eu
            API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
            while true; do
              HEADERS=/tmp/headers
              EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next")
              ID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | cut -d' ' -f2 | tr -d '\\r\\n')
              echo "shell got $ID"
              curl -sS -o /dev/null -X POST "$API/invocation/$ID/response" -d "{\\"echo\\": $EVENT, \\"handler\\": \\"$_HANDLER\\"}"
            done
            """;

    @BeforeAll
    void start() {
        d = TestDaemon.start(dir.resolve("data"), "", Clock.systemUTC(), Daemons.isRoot());
        d.deployOk(Bundles.zip(dir, Map.of("function.json", PY_MANIFEST.formatted("py", "app.handle", 2),
                "app.py", PY_CODE)));
        d.deployOk(Bundles.zip(dir, Map.of("function.json", PY_MANIFEST.formatted("py-spy", "app.handle", 5),
                "app.py", PY_CODE)));
        d.deployOk(Bundles.zip(dir, Map.of("function.json", """
                {"name": "node", "runtime": "nodejs", "handler": "lib/app.handler", "memoryMb": 64}""",
                "lib/app.mjs", NODE_CODE)));
        d.deployOk(Bundles.zip(dir, Map.of("function.json", """
                {"name": "node-cb", "runtime": "nodejs", "handler": "lib/app.callback", "memoryMb": 64}""",
                "lib/app.mjs", NODE_CODE)));
        d.deployOk(Bundles.zip(dir, Map.of("function.json", """
                {"name": "shell", "runtime": "provided", "handler": "echo.sh", "memoryMb": 32}""",
                "bootstrap", SHELL_BOOTSTRAP)));
    }

    @AfterAll
    void stop() {
        if (d != null) {
            d.close();
        }
    }

    @Test
    void aPythonHandlerGetsLambdasEventAndContextAndItsLogIsFramedAsAJavaOnes() {
        TestDaemon.Response r = d.invoke("py", "{\"reading\": 21.5}");
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        JsonNode out = r.json();
        assertThat(out.path("event").path("reading").asDouble()).isEqualTo(21.5);
        assertThat(out.path("function").asText()).isEqualTo("py");
        assertThat(out.path("version").asText()).isEqualTo("1");
        assertThat(out.path("arn").asText()).startsWith("arn:aws:lambda:").endsWith(":function:py");
        assertThat(out.path("memory").asText()).isEqualTo("64");
        assertThat(out.path("remaining").asLong()).isBetween(1L, 2_000L);
        assertThat(out.path("colour").asText()).isEqualTo("green");
        assertThat(out.path("trace").asText()).startsWith("Root=1-");
        assertThat(r.header("X-Amz-Executed-Version")).contains("1");
        String id = out.path("requestId").asText();
        assertThat(r.header("x-amzn-RequestId")).contains(id);
        if (Daemons.isRoot()) {
            assertThat(out.path("uid").asInt()).as("its own uid, never root").isGreaterThanOrEqualTo(61000);
        }
        String tail = r.logTail();
        assertThat(tail).contains("handling {\"reading\": 21.5}").contains("END RequestId: " + id)
                .contains("REPORT RequestId: " + id);
        assertThat(tail.indexOf("handling")).as(tail).isLessThan(tail.indexOf("END RequestId"));
        // the stored log is in Lambda's order too: START, the function's lines, END, REPORT
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            String log = d.get("/v1/functions/py/logs?limit=200").text();
            assertThat(log).contains("START RequestId: " + id).contains("REPORT RequestId: " + id);
            assertThat(log.indexOf("START RequestId: " + id)).isLessThan(log.indexOf("handling {\\\"reading\\\""));
            assertThat(log.indexOf("handling {\\\"reading\\\"")).isLessThan(log.indexOf("END RequestId: " + id));
        });
    }

    @Test
    void aPythonErrorIsLambdasErrorObjectAndTheEnvironmentStays() {
        TestDaemon.Response r = d.invoke("py", "{\"fail\": \"on purpose\"}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("X-Amz-Function-Error")).contains("Unhandled");
        JsonNode e = r.json();
        assertThat(e.path("errorType").asText()).isEqualTo("ValueError");
        assertThat(e.path("errorMessage").asText()).isEqualTo("asked to fail: on purpose");
        assertThat(e.path("stackTrace").isArray()).isTrue();
        assertThat(r.logTail()).contains("[ERROR] ValueError: asked to fail: on purpose");
        // a result Python cannot write as JSON is Lambda's marshal error
        JsonNode m = d.invoke("py", "{\"unjson\": true}").json();
        assertThat(m.path("errorType").asText()).isEqualTo("Runtime.MarshalError");
        assertThat(m.path("errorMessage").asText()).startsWith("Unable to marshal response:");
        // a result past Lambda's 6 MB fails the invocation with Lambda's size error, at once
        JsonNode huge = d.invoke("py", "{\"huge\": true}").json();
        assertThat(huge.path("errorType").asText()).isEqualTo("Function.ResponseSizeTooLarge");
        assertThat(d.invoke("py", "{\"after\": 1}").json().path("event").path("after").asInt()).isEqualTo(1);
    }

    @Test
    void aPythonTimeoutReplacesTheEnvironmentAndTheNextCallColdStarts() {
        TestDaemon.Response r = d.invoke("py", "{\"sleep\": 5}");
        JsonNode e = r.json();
        assertThat(e.has("errorType")).as("Lambda's timeout error has no type").isFalse();
        assertThat(e.path("errorMessage").asText()).contains("Task timed out after 2.00 seconds");
        TestDaemon.Response next = d.invoke("py", "{\"again\": true}");
        assertThat(next.json().path("event").path("again").asBoolean()).isTrue();
        assertThat(next.logTail()).contains("Init Duration:");
    }

    @Test
    void anImportErrorIsLambdasInitErrorAndNothingRuns() {
        Path zip = Bundles.zip(dir, Map.of("function.json", PY_MANIFEST.formatted("py-broken", "app.handle", 3),
                "app.py", "import not_a_module_anywhere\n"));
        TestDaemon.Response deployed = d.deploy(zip, "");
        assertThat(deployed.status()).as(deployed.text()).isIn(200, 201);
        TestDaemon.Response r = d.invoke("py-broken", "{}");
        assertThat(r.header("X-Amz-Function-Error")).contains("Unhandled");
        JsonNode e = r.json();
        assertThat(e.path("errorType").asText()).isEqualTo("Runtime.ImportModuleError");
        assertThat(e.path("errorMessage").asText()).contains("Unable to import module 'app'")
                .contains("not_a_module_anywhere");
        Path missing = Bundles.zip(dir, Map.of("function.json", PY_MANIFEST.formatted("py-nohandler", "app.nope", 3),
                "app.py", "x = 1\n"));
        assertThat(d.deploy(missing, "").status()).isIn(200, 201);
        JsonNode h = d.invoke("py-nohandler", "{}").json();
        assertThat(h.path("errorType").asText()).isEqualTo("Runtime.HandlerNotFound");
        assertThat(h.path("errorMessage").asText()).isEqualTo("Handler 'nope' missing on module 'app'");
    }

    @Test
    void theTmpQuotaHoldsForAPythonFunction() {
        JsonNode out = d.invoke("py", "{\"fill\": 8}").json();
        if (Daemons.isRoot()) {
            assertThat(out.path("filled").asBoolean()).as(out.toString()).isFalse();
            assertThat(out.path("error").asText()).isEqualTo("No space left on device");
        }
    }

    @Test
    void aNodeHandlerAsyncOrWithACallbackGetsLambdasContextAndErrors() {
        TestDaemon.Response r = d.invoke("node", "{\"n\": 7}");
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        JsonNode out = r.json();
        assertThat(out.path("event").path("n").asInt()).isEqualTo(7);
        assertThat(out.path("function").asText()).isEqualTo("node");
        assertThat(out.path("arn").asText()).endsWith(":function:node");
        assertThat(out.path("remaining").asLong()).isBetween(1L, 3_000L);
        assertThat(out.path("node").asText()).startsWith("v");
        String id = out.path("requestId").asText();
        assertThat(r.logTail()).contains("\t" + id + "\tINFO\thandling {\"n\":7}").contains("REPORT RequestId: " + id);
        JsonNode e = d.invoke("node", "{\"fail\": \"x\"}").json();
        assertThat(e.path("errorType").asText()).isEqualTo("TypeError");
        assertThat(e.path("errorMessage").asText()).isEqualTo("asked to fail: x");
        assertThat(e.path("trace").isArray()).isTrue();
        assertThat(d.invoke("node-cb", "{\"n\": 3}").json().path("called").asInt()).isEqualTo(3);
    }

    @Test
    void perEnvironmentConcurrencyRunsThatManyInvocationsAtOnceInOneEnvironment() throws Exception {
        d.deployOk(Bundles.zip(dir, Map.of("function.json", """
                {"name": "py-two", "runtime": "python3", "handler": "app.handle", "memoryMb": 64, "timeoutSeconds": 5,
                 "environment": {"COLOUR": "blue"},
                 "concurrency": {"reserved": 1, "perEnvironment": 2}}""", "app.py", PY_CODE)));
        d.deployOk(Bundles.zip(dir, Map.of("function.json", """
                {"name": "node-two", "runtime": "nodejs", "handler": "app.handler", "memoryMb": 64, "timeoutSeconds": 5,
                 "concurrency": {"reserved": 1, "perEnvironment": 2}}""", "app.mjs", """
                export const handler = async (event, context) => {
                  console.log('start', event.n);
                  await new Promise((r) => setTimeout(r, 1000));
                  return { n: event.n, requestId: context.awsRequestId };
                };
                """)));
        for (String f : new String[]{"py-two", "node-two"}) {
            d.invoke(f, f.startsWith("py") ? "{\"sleep\": 0.01}" : "{\"n\": 0}"); // cold start first
            long t0 = System.nanoTime();
            CompletableFuture<TestDaemon.Response> a = CompletableFuture.supplyAsync(() -> d.invoke(f,
                    f.startsWith("py") ? "{\"sleep\": 1}" : "{\"n\": 1}"));
            CompletableFuture<TestDaemon.Response> b = CompletableFuture.supplyAsync(() -> d.invoke(f,
                    f.startsWith("py") ? "{\"sleep\": 1}" : "{\"n\": 2}"));
            assertThat(a.get().status()).as(a.get().text()).isEqualTo(200);
            assertThat(b.get().status()).isEqualTo(200);
            assertThat(a.get().header("X-Amz-Function-Error")).as(a.get().text()).isEmpty();
            assertThat(b.get().header("X-Amz-Function-Error")).as(b.get().text()).isEmpty();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(ms).as(f + ": two 1 s invocations side by side in one environment").isLessThan(1_900);
            assertThat(d.get("/v1/functions/" + f).json().path("environments").size()).isEqualTo(1);
        }
    }

    @Test
    void anEnvironmentIdleLongerThanTheListenersIdleLimitStillAnswers() throws Exception {
        // The Runtime API closes a connection whose long poll outlived its 30 s idle limit once it answers; Bramble's
        // bootstraps must then answer on a fresh one (a Node.js keep-alive socket reused as it closes hangs up).
        d.deployOk(Bundles.zip(dir, Map.of("function.json", """
                {"name": "node-idle", "runtime": "nodejs", "handler": "lib/app.handler", "memoryMb": 64}""",
                "lib/app.mjs", NODE_CODE)));
        d.deployOk(Bundles.zip(dir, Map.of("function.json", PY_MANIFEST.formatted("py-idle", "app.handle", 3),
                "app.py", PY_CODE)));
        assertThat(d.invoke("node-idle", "{\"n\": 1}").json().path("event").path("n").asInt()).isEqualTo(1);
        assertThat(d.invoke("py-idle", "{\"n\": 1}").json().path("event").path("n").asInt()).isEqualTo(1);
        Thread.sleep(36_000);
        TestDaemon.Response node = d.invoke("node-idle", "{\"n\": 2}");
        assertThat(node.header("X-Amz-Function-Error")).as(node.text() + node.logTail()).isEmpty();
        assertThat(node.json().path("event").path("n").asInt()).isEqualTo(2);
        TestDaemon.Response py = d.invoke("py-idle", "{\"n\": 2}");
        assertThat(py.header("X-Amz-Function-Error")).as(py.text() + py.logTail()).isEmpty();
        assertThat(py.json().path("event").path("n").asInt()).isEqualTo(2);
    }

    @Test
    void aProvidedBootstrapWrittenInShellWithCurlServesInvocations() {
        TestDaemon.Response r = d.invoke("shell", "{\"k\": \"v\"}");
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        assertThat(r.json().path("echo").path("k").asText()).isEqualTo("v");
        assertThat(r.json().path("handler").asText()).isEqualTo("echo.sh");
        assertThat(r.logTail()).contains("shell got ").contains("REPORT RequestId:");
        assertThat(d.invoke("shell", "[1, 2]").json().path("echo").size()).isEqualTo(2);
    }

    @Test
    void nothingOutsideAnEnvironmentReachesTheRuntimeApi() throws Exception {
        int port = d.daemon().runtimeApiPort();
        HttpResponse<String> next = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/2018-06-01/runtime/invocation/next")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(next.statusCode()).isEqualTo(403);
        assertThat(next.body()).contains("AccessDeniedException").contains("does not come from an environment");
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/2018-06-01/runtime/invocation/x/response")).POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(403);
    }

    @Test
    void anEnvironmentCannotAnswerAnotherEnvironmentsInvocation() throws Exception {
        // the victim sleeps in its invocation; the spy, another function's environment, answers it for it
        CompletableFuture<TestDaemon.Response> victim = CompletableFuture.supplyAsync(() ->
                d.invoke("py-spy", "{\"sleep\": 2}"));
        String victimId = await().atMost(Duration.ofSeconds(10)).until(() -> requestIdOfRunning("py-spy"),
                id -> id != null);
        JsonNode spy = d.invoke("py", "{\"forge\": \"" + victimId + "\"}").json();
        assertThat(spy.path("status").asInt()).as(spy.toString()).isEqualTo(400);
        assertThat(spy.path("body").path("errorType").asText()).isEqualTo("InvalidRequestID");
        TestDaemon.Response answered = victim.get();
        assertThat(answered.json().path("forged").isMissingNode()).as(answered.text()).isTrue();
        assertThat(answered.json().path("requestId").asText()).isEqualTo(victimId);
    }

    /** The request id of the function's invocation in progress, from its stored START line; null if none yet. */
    private String requestIdOfRunning(String function) {
        JsonNode logs = d.get("/v1/functions/" + function + "/logs?limit=50").json();
        String last = null;
        for (JsonNode e : logs.path("events")) {
            String m = e.path("message").asText();
            if (m.startsWith("START RequestId: ")) {
                last = m.substring("START RequestId: ".length()).split(" ")[0];
            }
        }
        return last;
    }

    @Test
    void statusShowsTheRuntimeApiEnvironmentsWithTheirMemory() {
        d.invoke("node", "{}");
        JsonNode f = d.get("/v1/functions/node").json();
        assertThat(f.toString()).contains("\"runtime\":\"nodejs\"");
        JsonNode env = f.path("environments").get(0);
        assertThat(env.path("state").asText()).isIn("IDLE", "BUSY");
        assertThat(env.path("memory").path("limitMb").asInt()).isEqualTo(64);
        assertThat(env.path("initMs").asLong()).isPositive();
        assertThat(env.path("pid").asLong()).as("node's own pid, not the sandbox's").isNotEqualTo(
                env.path("sandboxPid").asLong());
        assertThat(ProcessHandle.of(env.path("pid").asLong()).flatMap(p -> p.info().command()).orElse(""))
                .contains("node");
    }
}
