package dev.bramble.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code bramble publish}: a signed bundle uploaded as its function's next version. */
@Command(name = "publish", description = {"Uploads a signed bundle (BUNDLE.sig beside it) as its function's next "
        + "version.", "With --url, devices fetch it from there (a CDN, a bucket) and check its digest and "
        + "signature; publishing the newest bundle again with --url sets its URL."})
final class PublishCmd implements Callable<Integer> {
    @Parameters(paramLabel = "BUNDLE")
    Path bundle;
    @Option(names = "--signature", description = "the signature file (default BUNDLE.sig)")
    Path signature;
    @Option(names = "--url", description = "where devices download this bundle instead of the deployer: an "
            + "http(s) URL serving exactly these bytes")
    String url;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Bramble root = Bramble.root(spec);
        Path sig = signature != null ? signature : BundleCmd.signatureOf(bundle);
        if (!Files.exists(sig)) {
            throw new Api.Failure(Bramble.EXIT_FAILED, "no signature " + sig + "; sign first: bramble bundle sign "
                    + bundle + " --key KEY");
        }
        JsonNode r = root.deployerApi().upload("/v1/functions", bundle, Files.readString(sig).trim(), url,
                spec.commandLine().getErr());
        root.print(r, r.path("function").asText() + ":" + r.path("version").asText() + " "
                + (r.path("created").asBoolean() ? "published" : "already published") + " (sha256 "
                + r.path("sha256").asText() + ")\n");
        return 0;
    }
}
