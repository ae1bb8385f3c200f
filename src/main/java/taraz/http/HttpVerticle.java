package taraz.http;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;

import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One HTTP server per event loop, all on one port (Vert.x shares the listening socket), so
 * request handling spreads over every core. Undeploying it shuts that server down gracefully.
 */
public final class HttpVerticle extends VerticleBase {

    private final int port;
    private final long shutdownTimeoutMillis;
    private final Function<io.vertx.core.Vertx, Router> routerFactory;
    private HttpServer server;

    public HttpVerticle(int port, long shutdownTimeoutMillis, Function<io.vertx.core.Vertx, Router> routerFactory) {
        this.port = port;
        this.shutdownTimeoutMillis = shutdownTimeoutMillis;
        this.routerFactory = routerFactory;
    }

    @Override
    public Future<?> start() {
        server = vertx.createHttpServer(new HttpServerOptions().setPort(port).setHost("0.0.0.0")
                .setCompressionSupported(false));
        return server.requestHandler(routerFactory.apply(vertx)).listen();
    }

    /**
     * Stops accepting connections; requests already running finish, bounded by the drain
     * deadline, before the connections close.
     */
    @Override
    public Future<?> stop() {
        return server.shutdown(shutdownTimeoutMillis, TimeUnit.MILLISECONDS);
    }
}
