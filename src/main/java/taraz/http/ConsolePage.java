package taraz.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The support console at {@code /console}: three files of the jar ({@code console/}), read once at start and served as
 * they are. The page itself holds no data and needs no credential; it asks support for the admin token and sends it
 * with every call of the admin API, which is where the token is checked. With no admin token configured the admin API
 * does not exist (404), and neither does the console.
 */
final class ConsolePage {

    static final String PATH = "/console";
    /**
     * The page loads only its own files and talks only to this gateway; no frame may hold it, so a page elsewhere
     * cannot dress it up and have support click through it.
     */
    private static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
            + "connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

    private record File(String contentType, Buffer content) { }

    private final boolean enabled;
    private final File page = read("index.html", "text/html; charset=utf-8");
    private final File script = read("console.js", "text/javascript; charset=utf-8");
    private final File style = read("console.css", "text/css; charset=utf-8");

    ConsolePage(boolean enabled) {
        this.enabled = enabled;
    }

    void route(Router router) {
        router.get(PATH).handler(ctx -> send(ctx, page));
        router.get(PATH + "/").handler(ctx -> send(ctx, page));
        router.get(PATH + "/console.js").handler(ctx -> send(ctx, script));
        router.get(PATH + "/console.css").handler(ctx -> send(ctx, style));
    }

    private void send(RoutingContext ctx, File file) {
        if (!enabled) {
            Responses.error(ctx, Failure.notFound("not_found", "no such resource: " + ctx.request().path()));
            return;
        }
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, file.contentType())
                .putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                .putHeader("X-Content-Type-Options", "nosniff")
                .putHeader("Referrer-Policy", "no-referrer")
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
                .end(file.content());
    }

    private static File read(String file, String contentType) {
        try (InputStream in = ConsolePage.class.getResourceAsStream("/console/" + file)) {
            if (in == null) {
                throw new IllegalStateException("console/" + file + " is missing from the jar");
            }
            return new File(contentType, Buffer.buffer(in.readAllBytes()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
