package dev.bramble.daemon.env;

import dev.bramble.daemon.function.FunctionVersion;
import dev.bramble.sandbox.LaunchSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the command line and environment of a function's child JVM. The child inherits nothing from the
 * daemon's environment: it sees Lambda's variables, a few basics and the function's own variables.
 *
 * @param java        the java executable
 * @param classpath   the runtime's classpath (runtime, Jackson, aws-lambda-java-core)
 * @param jvmOptions  options for every child
 * @param region      AWS_REGION
 */
public record Launcher(String java, String classpath, List<String> jvmOptions, String region) {
    static final String MAIN = "dev.bramble.runtime.Main";
    /** Share of the memory limit given to the heap; the rest is metaspace, code, stacks and buffers. */
    static final int HEAP_PERCENT = 60;

    public Launcher {
        jvmOptions = List.copyOf(jvmOptions);
    }

    LaunchSpec spec(FunctionVersion v, String stream, Path tmp) {
        var m = v.manifest();
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(jvmOptions);
        command.add("-XX:MaxRAM=" + m.memoryMb() + "m");
        command.add("-XX:MaxRAMPercentage=" + HEAP_PERCENT);
        command.add("-Djava.io.tmpdir=" + tmp);
        command.add("-cp");
        command.add(classpath);
        command.add(MAIN);
        Map<String, String> env = new HashMap<>(m.environment());
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("LANG", "C.UTF-8");
        env.put("TZ", ":UTC");
        env.put("TMPDIR", tmp.toString());
        env.put("HOME", tmp.toString());
        env.put("LAMBDA_TASK_ROOT", v.codeDir().toString());
        env.put("_HANDLER", m.handler());
        env.put("AWS_EXECUTION_ENV", "AWS_Lambda_java21");
        env.put("AWS_LAMBDA_FUNCTION_NAME", v.function());
        env.put("AWS_LAMBDA_FUNCTION_VERSION", Integer.toString(v.version()));
        env.put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Integer.toString(m.memoryMb()));
        env.put("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + v.function());
        env.put("AWS_LAMBDA_LOG_STREAM_NAME", stream);
        env.put("AWS_REGION", region);
        env.put("AWS_DEFAULT_REGION", region);
        return new LaunchSpec(v.label() + "/" + stream, command, env, v.codeDir(), m.memoryMb());
    }
}
