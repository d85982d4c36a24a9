package dev.bramble.protocol;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ManifestParserTest {
    private static Manifest parse(String json) {
        return ManifestParser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void minimalManifestGetsTheDefaults() {
        Manifest m = parse("{\"name\":\"thermo\",\"runtime\":\"java21\",\"handler\":\"com.example.Thermo\"}");
        assertThat(m.memoryMb()).isEqualTo(ManifestParser.DEFAULT_MEMORY_MB);
        assertThat(m.timeoutSeconds()).isEqualTo(ManifestParser.DEFAULT_TIMEOUT_S);
        assertThat(m.tmpMb()).isEqualTo(ManifestParser.DEFAULT_TMP_MB);
        assertThat(m.environment()).isEmpty();
        assertThat(m.concurrency().reserved()).isEmpty();
        assertThat(m.handlerClass()).isEqualTo("com.example.Thermo");
    }

    @Test
    void fullManifestIsRead() {
        Manifest m = parse("""
                {"name":"pump_2","runtime":"java21","handler":"com.example.Pump::run","memoryMb":64,
                 "timeoutSeconds":30,"tmpMb":8,"cpus":0.5,"environment":{"LEVEL":"high"},"description":"pumps",
                 "concurrency":{"reserved":2,"provisioned":1,"perEnvironment":8}}""");
        assertThat(m.handlerClass()).isEqualTo("com.example.Pump");
        assertThat(m.environment()).containsEntry("LEVEL", "high");
        assertThat(m.concurrency().reserved()).contains(2);
        assertThat(m.concurrency().provisioned()).isEqualTo(1);
        assertThat(m.concurrency().perEnvironment()).isEqualTo(8);
        assertThat(m.description()).isEqualTo("pumps");
        assertThat(m.cpus()).contains(0.5);
    }

    @Test
    void networkIsOutboundUnlessNoneAndNothingElse() {
        String base = "{\"name\":\"n\",\"runtime\":\"java21\",\"handler\":\"a.B\"";
        assertThat(parse(base + "}").network()).isEqualTo(Manifest.Network.OUTBOUND);
        assertThat(parse(base + ",\"network\":\"none\"}").network()).isEqualTo(Manifest.Network.NONE);
        assertThatThrownBy(() -> parse(base + ",\"network\":\"host\"}"))
                .isInstanceOfSatisfying(InvalidManifestException.class, e -> assertThat(e.problems()).containsExactly(
                        "network: 'host' is not allowed; use \"outbound\" (the default: the device's network, never "
                                + "the daemon's own ports) or \"none\" (no network at all)"));
    }

    @Test
    void invokesNamesOtherFunctionsAndNeedsTheNetwork() {
        String base = "{\"name\":\"n\",\"runtime\":\"java21\",\"handler\":\"a.B\"";
        assertThat(parse(base + ",\"invokes\":[\"echo\",\"pump\",\"echo\"]}").invokes()).containsExactly("echo", "pump");
        assertThat(parse(base + "}").invokes()).isEmpty();
        assertThatThrownBy(() -> parse(base + ",\"invokes\":[\"n\",\"bad name\",3],\"network\":\"none\"}"))
                .isInstanceOfSatisfying(InvalidManifestException.class, e -> assertThat(e.problems()).containsExactly(
                        "invokes[0]: 'n' is this function; a function may not invoke itself through the API (a loop "
                                + "without end)",
                        "invokes[1]: \"bad name\" is not a function name; use 1 to 64 letters, digits, '-' or '_' "
                                + "(every version and alias of that function)",
                        "invokes[2]: 3 is not a function name; use 1 to 64 letters, digits, '-' or '_' (every "
                                + "version and alias of that function)"));
        assertThatThrownBy(() -> parse(base + ",\"invokes\":[\"echo\"],\"network\":\"none\"}"))
                .hasMessageContaining("invokes: a function with \"network\": \"none\" cannot reach the device's "
                        + "function gateway");
    }

    @Test
    void everyProblemIsListedAtOnce() {
        assertThatThrownBy(() -> parse("""
                {"runtime":"java17","handler":"not a class","memoryMb":99999,"tmpMb":0,"timeoutSeconds":1.5,"cpus":100,
                 "environment":{"1BAD":"x","PATH":"/evil","OK":3},"concurrency":{"reserved":0,"provisioned":-1,"warm":1},
                 "layers":[]}"""))
                .isInstanceOfSatisfying(InvalidManifestException.class, e -> assertThat(e.problems()).containsExactly(
                        "name: required, missing",
                        "runtime: 'java17' is not supported; allowed: [java21, provided, python3, nodejs]",
                        "memoryMb: 99999 is outside the allowed range 32..10240",
                        "timeoutSeconds: expected a whole number from 1 to 900, got 1.5",
                        "tmpMb: 0 is outside the allowed range 1..10240",
                        "cpus: expected a number of cores from 0.05 to 64.0, got 100",
                        "environment.1BAD: not a valid variable name; use a letter, then letters, digits or '_'",
                        "environment.PATH: reserved for the runtime; AWS_LAMBDA_*, BRAMBLE_* and [HOME,"
                                + " LAMBDA_RUNTIME_DIR, LAMBDA_TASK_ROOT, LANG, PATH, TMPDIR, TZ, _HANDLER, _X_AMZN_TRACE_ID]"
                                + " cannot be set",
                        "environment.OK: expected a string, got 3",
                        "concurrency.reserved: 0 is outside the allowed range 1..1000",
                        "concurrency.provisioned: -1 is outside the allowed range 0..1000",
                        "concurrency.warm: unknown field; known: [reserved, provisioned, perEnvironment]",
                        "layers: unknown field; known: [name, runtime, handler, memoryMb, timeoutSeconds, tmpMb, "
                                + "cpus, environment, description, concurrency, triggers, async, testEvents, network, invokes]"));
    }

    @Test
    void eachRuntimeTakesItsOwnHandlerSpelling() {
        assertThat(parse("{\"name\":\"p\",\"runtime\":\"python3\",\"handler\":\"sensor.handle\"}")
                .runtimeKind()).isEqualTo(Manifest.Runtime.PYTHON3);
        assertThat(parse("{\"name\":\"p\",\"runtime\":\"python3\",\"handler\":\"pkg.mod.handle\"}").handler())
                .isEqualTo("pkg.mod.handle");
        assertThat(parse("{\"name\":\"n\",\"runtime\":\"nodejs\",\"handler\":\"src/app.handler\"}")
                .runtimeKind().runtimeApi()).isTrue();
        assertThat(parse("{\"name\":\"b\",\"runtime\":\"provided\",\"handler\":\"function.handler\"}")
                .runtimeKind()).isEqualTo(Manifest.Runtime.PROVIDED);
        assertThat(parse("{\"name\":\"j\",\"runtime\":\"java21\",\"handler\":\"a.B::run\"}").runtimeKind()
                .runtimeApi()).isFalse();
        assertThatThrownBy(() -> parse("{\"name\":\"j\",\"runtime\":\"java21\",\"handler\":\"not a class\"}"))
                .hasMessageContaining("handler: 'not a class' is not a handler name; use pkg.Class or pkg.Class::method");
        assertThatThrownBy(() -> parse("{\"name\":\"p\",\"runtime\":\"python3\",\"handler\":\"a.B::run\"}"))
                .hasMessageContaining("handler: 'a.B::run' is not a Python handler; use module.function");
        assertThatThrownBy(() -> parse("{\"name\":\"p\",\"runtime\":\"python3\",\"handler\":\"handler\"}"))
                .hasMessageContaining("is not a Python handler");
        assertThatThrownBy(() -> parse("{\"name\":\"n\",\"runtime\":\"nodejs\",\"handler\":\"../up.handler\"}"))
                .hasMessageContaining("handler: '../up.handler' is not a Node.js handler");
        assertThatThrownBy(() -> parse("{\"name\":\"b\",\"runtime\":\"provided\",\"handler\":\"a b\"}"))
                .hasMessageContaining("a provided runtime's handler is 1 to 128 letters");
    }

    @Test
    void aRuntimeApiFunctionCannotHaveNoNetworkSinceItsApiIsOnLoopback() {
        assertThatThrownBy(() -> parse("""
                {"name":"p","runtime":"python3","handler":"m.f","network":"none"}"""))
                .hasMessageContaining("network: \"none\" is for java21 functions; a python3 function reaches its "
                        + "Runtime API on the device's loopback");
    }

    @Test
    void provisionedCannotExceedReserved() {
        assertThatThrownBy(() -> parse("""
                {"name":"a","runtime":"java21","handler":"a.B","concurrency":{"reserved":1,"provisioned":2}}"""))
                .hasMessageContaining("concurrency.provisioned: 2 is more than concurrency.reserved (1)");
    }

    @Test
    void notJsonOrNotAnObjectIsSaidPlainly() {
        assertThatThrownBy(() -> parse("{nope")).hasMessageContaining("function.json is not valid JSON");
        assertThatThrownBy(() -> parse("[1]")).hasMessageContaining("must be a JSON object, got array");
    }

    @Test
    void aKeyGivenTwiceIsRefusedAtDeploymentButAStoredManifestStillLoads() {
        String twice = "{\"name\":\"f\",\"runtime\":\"java21\",\"handler\":\"a.B\",\"memoryMb\":128,"
                + "\"memoryMb\":512}";
        assertThatThrownBy(() -> parse(twice)).hasMessageContaining("function.json is not valid JSON")
                .hasMessageContaining("Duplicate field 'memoryMb'");
        assertThat(ManifestParser.parseStored(twice.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                ManifestParser.Defaults.BRAMBLE).memoryMb()).isEqualTo(512);
    }

    @Test
    void variablesThatChangeHowTheLoaderOrTheJvmStartsAreRefusedByName() {
        assertThatThrownBy(() -> parse("""
                {"name":"f","runtime":"java21","handler":"a.B","environment":{"LD_PRELOAD":"lib/evil.so",
                 "LD_LIBRARY_PATH":"lib","GCONV_PATH":"lib","_JAVA_OPTIONS":"-Xmx1g","JDK_JAVA_OPTIONS":"-Xmx1g",
                 "CLASSPATH":"x","NUL":"a\\u0000b"}}"""))
                .isInstanceOfSatisfying(InvalidManifestException.class, e -> assertThat(e.problems())
                        .hasSize(7)
                        .anySatisfy(p -> assertThat(p).startsWith("environment.LD_PRELOAD: changes how the loader or "
                                + "the JVM starts, so it is refused: LD_* and [").endsWith("(JAVA_TOOL_OPTIONS can)"))
                        .anySatisfy(p -> assertThat(p).startsWith("environment.LD_LIBRARY_PATH: changes how"))
                        .anySatisfy(p -> assertThat(p).startsWith("environment.GCONV_PATH: changes how"))
                        .anySatisfy(p -> assertThat(p).startsWith("environment._JAVA_OPTIONS: not a valid variable name"))
                        .anySatisfy(p -> assertThat(p).startsWith("environment.JDK_JAVA_OPTIONS: changes how"))
                        .anySatisfy(p -> assertThat(p).startsWith("environment.CLASSPATH: changes how"))
                        .contains("environment.NUL: contains a NUL character, which no variable can hold"));
    }

    @Test
    void javaToolOptionsIsAllowedAsOnLambda() {
        Manifest m = parse("""
                {"name":"f","runtime":"java21","handler":"a.B","environment":{"JAVA_TOOL_OPTIONS":"-Xss512k"}}""");
        assertThat(m.environment()).containsEntry("JAVA_TOOL_OPTIONS", "-Xss512k");
    }
}
