package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.util.concurrent.Callable;

/** {@code bramble invoke}: a function called on a device through its Lambda Invoke API. */
@Command(name = "invoke", description = "Invokes a function on a device (its Lambda Invoke API).")
final class InvokeCmd implements Callable<Integer> {
    @Parameters(paramLabel = "FUNCTION")
    String function;
    @Option(names = "--device", required = true, description = "the device's URL, e.g. http://pi.local:9000")
    String device;
    @Option(names = "--payload", defaultValue = "{}", description = "the event (JSON)")
    String payload;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Bramble root = Bramble.root(spec);
        JsonNode r = new Api(device, null).post("/2015-03-31/functions/" + function + "/invocations",
                Api.JSON.readTree(payload));
        root.print(r, r + "\n");
        return r.has("errorType") ? Bramble.EXIT_FAILED : 0;
    }
}
