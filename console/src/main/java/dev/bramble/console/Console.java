package dev.bramble.console;

import io.helidon.http.HeaderNames;
import io.helidon.http.HttpException;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.staticcontent.ClasspathHandlerConfig;
import io.helidon.webserver.staticcontent.StaticContentFeature;

/**
 * Serves a web console: its pages from the classpath under {@value #PATH}, the shared assets under
 * {@value #PATH}{@code /lib}, and {@code /} redirected to it. The assets hold no data and need no credential; every
 * figure a page shows comes from the program's JSON API with the same bearer token the CLI sends, which the page
 * keeps in the tab's session storage. No cookie is ever set, so no other site can make a browser act with it (no
 * CSRF), and the content security policy lets a page run only the console's own scripts: whatever a function
 * writes to its log or returns is text on the page, never markup.
 */
public final class Console {
    /** Where a console is served. */
    public static final String PATH = "/console";

    /** The only sources a console page may load or call; inline script and style are refused. */
    static final String POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    private Console() {
    }

    /**
     * Adds a console's routes.
     *
     * @param pages where its own pages (an {@code index.html} and its scripts) are on the classpath, e.g.
     *              {@code dev/bramble/daemon/console}
     */
    public static void register(HttpRouting.Builder routing, String pages) {
        routing.get("/", (req, res) -> res.status(Status.FOUND_302).header(HeaderNames.LOCATION, PATH + "/").send())
                .get(PATH, (req, res) -> res.status(Status.MOVED_PERMANENTLY_301)
                        .header(HeaderNames.LOCATION, PATH + "/").send())
                .get(PATH + "/*", (req, res) -> {
                    res.header(HeaderNames.create("Content-Security-Policy"), POLICY)
                            .header(HeaderNames.X_CONTENT_TYPE_OPTIONS, "nosniff")
                            .header(HeaderNames.create("Referrer-Policy"), "no-referrer")
                            .header(HeaderNames.create("X-Frame-Options"), "DENY")
                            // a new daemon's assets, not the cached ones of the version before an upgrade
                            .header(HeaderNames.CACHE_CONTROL, "no-cache");
                    res.next();
                })
                .register(PATH + "/lib", StaticContentFeature.createService(classpath("dev/bramble/console/lib", null)))
                .register(PATH, StaticContentFeature.createService(classpath(pages, "index.html")));
    }

    /**
     * Answers the exception Helidon's static content throws for a revalidated asset that did not change (its way
     * to say 304): true when it was that one and the 304 is sent. A program's error handler for
     * {@code HttpException} asks this first, or a browser's revalidation would come back as an error.
     */
    public static boolean notModified(HttpException e, ServerResponse res) {
        if (e.status().code() != Status.NOT_MODIFIED_304.code()) {
            return false;
        }
        res.status(Status.NOT_MODIFIED_304).send();
        return true;
    }

    private static ClasspathHandlerConfig classpath(String location, String welcome) {
        ClasspathHandlerConfig.Builder b = ClasspathHandlerConfig.builder()
                .location(location)
                .classLoader(Console.class.getClassLoader())
                // served from the jar as it is: nothing extracted to a temporary directory (the unit's /tmp is
                // private and small, and the daemon writes nowhere it does not own)
                .temporaryStorage(t -> t.enabled(false));
        if (welcome != null) {
            b.welcome(welcome);
        }
        return b.build();
    }
}
