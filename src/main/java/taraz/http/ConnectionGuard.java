package taraz.http;

import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server's edges against slow or greedy clients, per HTTP verticle (so per event loop, and
 * touched only from it):
 * <ul>
 *   <li>at most {@code connectionsMax} open connections over all event loops; one more is
 *       closed as it opens;</li>
 *   <li>a connection with no request in progress must bring a whole request head within
 *       {@code headTimeoutMillis} of opening or of its previous response: a client that trickles
 *       a header a byte at a time (slowloris) cannot hold it longer, whatever the idle timeout;</li>
 *   <li>a request's body must be whole within {@code bodyTimeoutMillis} of its head.</li>
 * </ul>
 * Time spent by taraz itself on a request (a delayed step, a slow database) is not counted:
 * once the body is in, the request is the server's to answer, under its own deadlines.
 * Vert.x calls the request handler only once the head is parsed, so "no request in progress"
 * is all that can be seen of a head on its way; the deadline is therefore also the longest a
 * keep-alive connection stays open between requests.
 */
final class ConnectionGuard {

    private final AtomicInteger open;
    private final int connectionsMax;
    private final long headTimeoutNanos;
    private final long bodyTimeoutNanos;
    private final Map<HttpConnection, Watch> watched = new HashMap<>();

    private static final class Watch {
        final List<Running> running = new ArrayList<>(1);
        long idleSinceNanos;

        Watch(long now) {
            idleSinceNanos = now;
        }
    }

    private record Running(HttpServerRequest request, long headAtNanos) {}

    /** {@code open} is shared by the guards of every event loop, so the bound is the node's. */
    ConnectionGuard(AtomicInteger open, int connectionsMax, long headTimeoutMillis, long bodyTimeoutMillis) {
        this.open = open;
        this.connectionsMax = connectionsMax;
        this.headTimeoutNanos = headTimeoutMillis * 1_000_000;
        this.bodyTimeoutNanos = bodyTimeoutMillis * 1_000_000;
    }

    void opened(HttpConnection connection) {
        connection.closeHandler(v -> {
            watched.remove(connection);
            open.decrementAndGet();
        });
        if (open.incrementAndGet() > connectionsMax) {
            connection.close();
            return;
        }
        watched.put(connection, new Watch(System.nanoTime()));
    }

    void request(HttpServerRequest request) {
        Watch watch = watched.get(request.connection());
        if (watch != null) {
            watch.running.add(new Running(request, System.nanoTime()));
        }
    }

    /** Called on a timer: closes the connections past a deadline. */
    void sweep() {
        long now = System.nanoTime();
        List<HttpConnection> late = new ArrayList<>();
        watched.forEach((connection, watch) -> {
            boolean bodyLate = false;
            for (var it = watch.running.iterator(); it.hasNext(); ) {
                Running running = it.next();
                if (running.request().response().ended() || running.request().response().closed()) {
                    it.remove();
                    watch.idleSinceNanos = now;
                } else if (!running.request().isEnded() && now - running.headAtNanos() > bodyTimeoutNanos) {
                    bodyLate = true;
                }
            }
            if (bodyLate || (watch.running.isEmpty() && now - watch.idleSinceNanos > headTimeoutNanos)) {
                late.add(connection);
            }
        });
        late.forEach(connection -> {
            watched.remove(connection);
            connection.close();
        });
    }
}
