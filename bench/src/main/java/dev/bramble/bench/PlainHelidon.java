package dev.bramble.bench;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The warm-path floor: a plain Helidon SE endpoint that answers the same routes with the same bytes the daemon's
 * functions return, doing nothing else.
 */
public final class PlainHelidon {
    private PlainHelidon() {
    }

    /**
     * @param args port, file with the Invoke API answer, file with the Function URL answer
     */
    public static void main(String[] args) throws Exception {
        byte[] invoke = Files.readAllBytes(Path.of(args[1]));
        byte[] url = Files.readAllBytes(Path.of(args[2]));
        WebServer.builder().host("127.0.0.1").port(Integer.parseInt(args[0]))
                .routing(r -> r
                        .post("/2015-03-31/functions/{name}/invocations", (req, res) -> {
                            req.content().consume();
                            res.header(HeaderNames.CONTENT_TYPE, "application/json").send(invoke);
                        })
                        .any("/fn/{name}", (req, res) -> {
                            req.content().consume();
                            res.header(HeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8").send(url);
                        })
                        .get("/v1/health", (req, res) -> res.send("ok")))
                .build().start();
        Thread.currentThread().join();
    }
}
