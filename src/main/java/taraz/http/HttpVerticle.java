package taraz.http;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import taraz.ops.LogContext;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * One HTTP server per event loop, all on one port (Vert.x shares the listening socket), so
 * request handling spreads over every core. Undeploying it shuts that server down gracefully.
 */
public final class HttpVerticle extends VerticleBase {

    /** How often the connection deadlines are looked at: their resolution. */
    private static final long GUARD_SWEEP_MILLIS = 500;

    /** The server's bounds, from the settings; {@code connectionsOpen} is shared by every instance. */
    public record Limits(int idleTimeoutSeconds, int headerSizeMaxBytes, int connectionsMax, long headTimeoutMillis,
                         long bodyTimeoutMillis, AtomicInteger connectionsOpen) {}

    private final String host;
    private final int port;
    private final long shutdownTimeoutMillis;
    private final Limits limits;
    private final Function<io.vertx.core.Vertx, Router> routerFactory;
    private HttpServer server;
    private long sweepTimer;

    public HttpVerticle(String host, int port, long shutdownTimeoutMillis, Limits limits, Function<io.vertx.core.Vertx, Router> routerFactory) {
        this.host = host;
        this.port = port;
        this.shutdownTimeoutMillis = shutdownTimeoutMillis;
        this.limits = limits;
        this.routerFactory = routerFactory;
    }

    @Override
    public Future<?> start() {
        ConnectionGuard guard = new ConnectionGuard(limits.connectionsOpen(), limits.connectionsMax(),
                limits.headTimeoutMillis(), limits.bodyTimeoutMillis());
        server = vertx.createHttpServer(new HttpServerOptions().setPort(port).setHost(host)
                .setCompressionSupported(false)
                .setIdleTimeout(limits.idleTimeoutSeconds()).setIdleTimeoutUnit(TimeUnit.SECONDS)
                .setMaxHeaderSize(limits.headerSizeMaxBytes())
                // HTTP/1.1 only on this cleartext port. With h2c upgrade on, Vert.x buffers a whole
                // first request head before it shows the connection to anyone, so a client trickling
                // that head would be invisible to the guard. The load balancer speaks HTTP/1.1.
                .setHttp2ClearTextEnabled(false));
        Router router = routerFactory.apply(vertx);
        sweepTimer = vertx.setPeriodic(GUARD_SWEEP_MILLIS, id -> guard.sweep());
        return server.connectionHandler(guard::opened)
                .requestHandler(request -> {
                    guard.request(request);
                    String requestId = LogContext.requestId(request.getHeader(LogContext.REQUEST_ID_HEADER));
                    LogContext.bindRequest(requestId);
                    request.response().putHeader(LogContext.REQUEST_ID_HEADER, requestId);
                    router.handle(request);
                })
                .listen();
    }

    /**
     * Stops accepting connections; requests already running finish, bounded by the drain
     * deadline, before the connections close.
     */
    @Override
    public Future<?> stop() {
        vertx.cancelTimer(sweepTimer);
        return server.shutdown(shutdownTimeoutMillis, TimeUnit.MILLISECONDS);
    }
}
