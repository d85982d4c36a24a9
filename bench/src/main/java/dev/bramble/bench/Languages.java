package dev.bramble.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Runtime API runtimes beside Java: cold start, warm Invoke API p50 and idle environment PSS of a Python and a
 * Node.js noop, each beside the bare interpreter running the same handler (spawn to its printed result; idle with
 * the handler loaded), and beside the Java noop's warm p50 on the same daemon in the same run.
 */
final class Languages {
    private static final int COLD_RUNS = 10;
    private static final String PY = "def handle(event, context):\n    return {}\n";
    private static final String NODE = "export const handler = async (event, context) => ({});\n";

    private final Bench bench;
    private final Path work;

    Languages(Bench bench, Path work) {
        this.bench = bench;
        this.work = work;
    }

    List<Bench.Row> run() throws Exception {
        List<Bench.Row> rows = new ArrayList<>();
        Path py = function("pynoop", "python3", "app.handle", "app.py", PY);
        Path node = function("nodenoop", "nodejs", "app.handler", "app.mjs", NODE);
        Daemon d = Daemon.start(bench, work.resolve("languages-data"));
        try {
            d.deploy(zip(py));
            d.deploy(zip(node));
            d.deploy(bench.withManifest(bench.bundle("shapes"), "noop", "NoopHandler", ""));
            d.invoke("noop", "{}");
            String javaPath = d.base() + "/2015-03-31/functions/noop/invocations";
            Measure.wrk(javaPath, "POST", "{}", 1, 1, 2, work);
            Measure.Wrk javaWarm = Measure.wrk(javaPath, "POST", "{}", 1, 1, Bench.WRK_SECONDS, work);
            for (String[] f : List.of(new String[]{"pynoop", "python"}, new String[]{"nodenoop", "node"})) {
                Path root = f[0].equals("pynoop") ? py : node;
                List<Double> cold = new ArrayList<>();
                for (int i = 0; i < COLD_RUNS; i++) {
                    d.recycleAll(List.of(f[0]));
                    long t0 = System.nanoTime();
                    d.invoke(f[0], "{}");
                    cold.add((System.nanoTime() - t0) / 1e6);
                }
                List<Double> bare = new ArrayList<>();
                for (int i = 0; i < COLD_RUNS; i++) {
                    bare.add(bareRun(f[1], root));
                }
                double c = Measure.percentile(cold, 50);
                double b = Measure.percentile(bare, 50);
                rows.add(new Bench.Row("cold start " + f[0] + " (" + f[1] + "), spawn → first response via the "
                        + "Invoke API, p50", Bench.fmt(c) + " ms", "bare " + f[1] + ", same handler: " + Bench.fmt(b)
                        + " ms", Bench.fmt(c / b) + "×", "— (no goal set; Java's is ≤ 1.15×)", "—"));
                String path = d.base() + "/2015-03-31/functions/" + f[0] + "/invocations";
                Measure.wrk(path, "POST", "{}", 1, 1, 2, work);
                Measure.Wrk warm = Measure.wrk(path, "POST", "{}", 1, 1, Bench.WRK_SECONDS, work);
                rows.add(new Bench.Row("warm invoke, Invoke API, " + f[0] + " (" + f[1] + "), 1 connection: p50 / p99",
                        Bench.fmt(warm.p50us()) + " / " + Bench.fmt(warm.p99us()) + " µs", "the Java noop, same daemon: "
                        + Bench.fmt(javaWarm.p50us()) + " / " + Bench.fmt(javaWarm.p99us()) + " µs", "+"
                        + Bench.fmt(warm.p50us() - javaWarm.p50us()) + " µs p50", "— (Java's: p99 ≤ 2 ms)",
                        warm.p99us() <= 2000 ? "p99 yes" : "p99 no"));
                Thread.sleep(1500);
                double pss = Measure.pssMb(runtimePid(d, f[1]));
                double barePss = bareIdlePss(f[1], root);
                rows.add(new Bench.Row("idle warm environment, PSS (" + f[0] + ", " + f[1] + " process)",
                        Bench.fmt(pss) + " MB", "bare " + f[1] + ", handler loaded: " + Bench.fmt(barePss) + " MB",
                        Bench.fmt(pss / barePss) + "×", "— (Java's: ≤ 32 MB)", "—"));
            }
        } finally {
            d.stop();
        }
        return rows;
    }

    private Path function(String name, String runtime, String handler, String file, String code) throws IOException {
        Path root = work.resolve("lang-" + name);
        Files.createDirectories(root);
        Files.writeString(root.resolve("function.json"), "{\"name\": \"" + name + "\", \"runtime\": \"" + runtime
                + "\", \"handler\": \"" + handler + "\", \"memoryMb\": 64}");
        Files.writeString(root.resolve(file), code);
        return root;
    }

    private Path zip(Path root) throws IOException {
        Path out = work.resolve(root.getFileName() + ".zip");
        Zips.zip(root, out);
        return out;
    }

    /** The interpreter process of the function's one environment (below the sandbox's steps). */
    private static long runtimePid(Daemon d, String interpreter) {
        return d.process().toHandle().descendants().filter(p -> p.info().command().orElse("")
                .contains(interpreter)).findFirst().orElseThrow(() -> new IllegalStateException(
                "no " + interpreter + " environment running")).pid();
    }

    private static List<String> bareCommand(String interpreter, Path root, boolean stay) {
        if (interpreter.equals("python")) {
            return List.of("/usr/bin/python3", "-s", "-c", "import sys, json, time; sys.path.insert(0, '" + root
                    + "'); import app; print(json.dumps(app.handle({}, None)), flush=True)"
                    + (stay ? "; time.sleep(60)" : ""));
        }
        return List.of("/usr/bin/node", "--input-type=module", "-e", "const m = await import('" + root.toUri()
                + "app.mjs'); console.log(JSON.stringify(await m.handler({}, {})));"
                + (stay ? " setTimeout(() => {}, 60000);" : ""));
    }

    /** Spawn → the handler's printed result, milliseconds. */
    private static double bareRun(String interpreter, Path root) throws Exception {
        return Measure.msToFirstLine(bareCommand(interpreter, root, false));
    }

    private static double bareIdlePss(String interpreter, Path root) throws Exception {
        Process p = new ProcessBuilder(bareCommand(interpreter, root, true))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (InputStream in = p.getInputStream()) {
            in.read();
            Thread.sleep(1500);
            return Measure.pssMb(p.pid());
        } finally {
            p.destroyForcibly();
            p.waitFor();
        }
    }
}
