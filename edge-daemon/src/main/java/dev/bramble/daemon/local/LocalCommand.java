package dev.bramble.daemon.local;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code bramble local invoke} and {@code bramble local serve}: a bundle run by the daemon's own code in this
 * process — the same child runtime, class loading, serialisation and START/END/REPORT lines as on a device — with
 * nothing installed, no keys and no root.
 */
@Command(name = "local", description = "Runs a bundle on this machine, as a device would, without a device.",
        subcommands = {LocalCommand.InvokeCmd.class, LocalCommand.ServeCmd.class})
public final class LocalCommand {
    static final int EXIT_FAILED = 1;

    /** The options both share. */
    static final class Common {
        @Parameters(paramLabel = "BUNDLE", description = "a bundle zip (bramble bundle build, or mvn package in a "
                + "bramble init project)")
        Path bundle;
        @Option(names = "--runtime-classpath", hidden = true, description = "the child runtime's classpath, for "
                + "Bramble's own tests; default: the installation's lib/runtime")
        String runtimeClasspath;

        void check(CommandLine cl) {
            if (!Files.isRegularFile(bundle)) {
                throw new CommandLine.ParameterException(cl, "BUNDLE " + bundle + " is not a file; give a bundle "
                        + "zip (bramble bundle build, or mvn package in a bramble init project)");
            }
        }
    }

    @Command(name = "invoke", description = {"Runs the bundle's handler once on an event: the function's log "
            + "(START … REPORT) on stderr, its result on stdout. Exit code 1 when the function failed."})
    static final class InvokeCmd implements Callable<Integer> {
        @CommandLine.Mixin
        Common common;
        @Option(names = {"-e", "--event"}, description = "a file with the event's JSON, or - for stdin "
                + "(default: {})")
        String event;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            common.check(spec.commandLine());
            byte[] payload = event == null ? "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8)
                    : event.equals("-") ? System.in.readAllBytes() : readEvent(spec.commandLine(), Path.of(event));
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try (LocalDaemon d = LocalDaemon.start(0, common.runtimeClasspath)) {
                String function = deployOrSay(d, common.bundle, err);
                if (function == null) {
                    return EXIT_FAILED;
                }
                HttpResponse<String> r = d.invoke(function, payload);
                String requestId = r.headers().firstValue("X-Amzn-RequestId").orElse("");
                printLogUntilReport(d, function, requestId, err);
                out.println(r.body());
                out.flush();
                boolean failed = r.statusCode() != 200 || r.headers().firstValue("X-Amz-Function-Error").isPresent();
                return failed ? EXIT_FAILED : 0;
            }
        }

        /** The lines of the invocation, up to its REPORT (written just after the answer, so waited for briefly). */
        private static void printLogUntilReport(LocalDaemon d, String function, String requestId, PrintWriter err)
                throws IOException, InterruptedException {
            long after = 0;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (true) {
                LocalDaemon.Page page = d.logs(function, after);
                for (String line : page.lines()) {
                    err.println(line);
                    if (line.startsWith("REPORT RequestId: " + requestId)) {
                        err.flush();
                        return;
                    }
                }
                after = page.next();
                if (System.nanoTime() > deadline) {
                    err.flush();
                    return;
                }
                Thread.sleep(20);
            }
        }
    }

    @Command(name = "serve", description = {"Serves the bundle's function on the Lambda Invoke API (and its Function "
            + "URL under /fn/NAME) until interrupted, printing its log as it comes."})
    static final class ServeCmd implements Callable<Integer> {
        @CommandLine.Mixin
        Common common;
        @Option(names = {"-p", "--port"}, defaultValue = "9000", description = "the loopback port (default: "
                + "${DEFAULT-VALUE}; 0 picks a free one)")
        int port;
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            common.check(spec.commandLine());
            PrintWriter err = spec.commandLine().getErr();
            LocalDaemon d;
            try {
                d = LocalDaemon.start(port, common.runtimeClasspath);
            } catch (dev.bramble.daemon.trigger.ListenerException e) {
                err.println("bramble: " + e.getMessage() + " (a brambled on this machine?); choose another port "
                        + "with --port");
                return EXIT_FAILED;
            }
            boolean interrupted = false;
            try (d) {
                String function = deployOrSay(d, common.bundle, err);
                if (function == null) {
                    return EXIT_FAILED;
                }
                err.println("Serving " + function + " on " + d.base() + " (Ctrl-C stops it):");
                err.println("  curl -d @event.json " + d.base() + "/2015-03-31/functions/" + function
                        + "/invocations");
                err.println("  aws lambda invoke --function-name " + function + " --endpoint-url " + d.base()
                        + " --cli-binary-format raw-in-base64-out --payload file://event.json out.json");
                err.flush();
                Thread hook = new Thread(d::close, "bramble-local-stop");
                Runtime.getRuntime().addShutdownHook(hook);
                try {
                    long after = 0;
                    while (!Thread.currentThread().isInterrupted() && !d.closed()) {
                        LocalDaemon.Page page = d.logs(function, after);
                        page.lines().forEach(err::println);
                        err.flush();
                        after = page.next();
                        Thread.sleep(200);
                    }
                } catch (InterruptedException stop) {
                    // Said again only once the daemon is closed: an interrupted thread cannot wait for it to stop.
                    interrupted = true;
                } catch (IOException e) {
                    if (!d.closed()) {
                        throw e;
                    }
                } finally {
                    Runtime.getRuntime().removeShutdownHook(hook);
                }
                return 0;
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** Deploys the bundle; the function's name, or null after saying why it was refused. */
    private static String deployOrSay(LocalDaemon d, Path bundle, PrintWriter err)
            throws IOException, InterruptedException {
        try {
            JsonNode deployed = d.deploy(bundle);
            return deployed.path("function").asText();
        } catch (IOException e) {
            err.println("bramble: " + e.getMessage());
            err.flush();
            return null;
        }
    }

    private static byte[] readEvent(CommandLine cl, Path file) throws IOException {
        if (!Files.isReadable(file) || Files.isDirectory(file)) {
            throw new CommandLine.ParameterException(cl, "--event " + file + " cannot be read; give a JSON file, "
                    + "or - to read stdin");
        }
        return Files.readAllBytes(file);
    }
}
