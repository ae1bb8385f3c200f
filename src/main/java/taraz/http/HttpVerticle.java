package taraz.http;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;

import java.util.function.Function;

/**
 * One HTTP server per event loop, all on one port (Vert.x shares the listening socket), so
 * request handling spreads over every core. Undeploying it stops that server from accepting.
 */
public final class HttpVerticle extends VerticleBase {

    private final int port;
    private final Function<io.vertx.core.Vertx, Router> routerFactory;
    private HttpServer server;

    public HttpVerticle(int port, Function<io.vertx.core.Vertx, Router> routerFactory) {
        this.port = port;
        this.routerFactory = routerFactory;
    }

    @Override
    public Future<?> start() {
        server = vertx.createHttpServer(new HttpServerOptions().setPort(port).setHost("0.0.0.0")
                .setCompressionSupported(false));
        return server.requestHandler(routerFactory.apply(vertx)).listen();
    }

    public int actualPort() {
        return server.actualPort();
    }
}
