package taraz.http;

import taraz.support.Wait;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server's edges, against a child gateway with small limits: a request head or body
 * trickled a byte at a time (slowloris) loses its connection at the deadline, connections past
 * the maximum are closed as they open, an oversized head is refused, and a method outside the
 * contract is a 405 that mints no metric series.
 */
class HttpLimitsTest {

    private static final long DEADLINE_MILLIS = 1500;
    private static final int CONNECTIONS_MAX = 8;
    /** Closed connections are seen on the event loop shortly after; then the node serves again. */
    private static final long SERVED_AGAIN_TIMEOUT_MILLIS = 5_000;
    /** How long the slow clients would trickle if nobody stopped them: far past every deadline. */
    private static final int TRICKLE_STEPS = 40;
    private static final long TRICKLE_PAUSE_MILLIS = 250;

    static GatewayProcess gateway;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        Path dataDir = TestGateway.tempDir("limits-");
        Map<String, Object> settings = new HashMap<>();
        settings.put("httpRequestHeadTimeoutMillis", DEADLINE_MILLIS);
        settings.put("httpRequestBodyTimeoutMillis", DEADLINE_MILLIS);
        settings.put("httpConnectionsMax", CONNECTIONS_MAX);
        settings.put("httpHeaderSizeMaxBytes", 4096);
        port = TestGateway.freePort();
        gateway = GatewayProcess.start(dataDir, port, GatewayProcess.config(dataDir, settings));
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stop(gateway);
    }

    @Test
    void aHeadTrickledByteByByteIsCutOff() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            OutputStream out = socket.getOutputStream();
            out.write("GET /health/live HTTP/1.1\r\nHost: taraz\r\n".getBytes(StandardCharsets.US_ASCII));
            assertTrue(trickleUntilClosed(socket, "X-Slow: a\r\n"), "the server kept a connection whose head never ended");
        }
    }

    @Test
    void aBodyTrickledByteByByteIsCutOff() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.getOutputStream().write(("POST /v1/wallets HTTP/1.1\r\nHost: taraz\r\nContent-Type: application/json\r\n"
                    + "Authorization: Bearer " + TestGateway.API_KEY + "\r\nContent-Length: 4000\r\n\r\n{\"ownerId\":")
                    .getBytes(StandardCharsets.US_ASCII));
            assertTrue(trickleUntilClosed(socket, " "), "the server kept a connection whose body never ended");
        }
    }

    @Test
    void connectionsPastTheMaximumAreClosedAsTheyOpen() throws Exception {
        List<Socket> open = new ArrayList<>();
        try {
            int served = 0;
            boolean refused = false;
            for (int i = 0; i < CONNECTIONS_MAX * 3 && !refused; i++) {
                Socket socket = new Socket("127.0.0.1", port);
                open.add(socket);
                String answer = exchange(socket, "GET /health/live HTTP/1.1\r\nHost: taraz\r\n\r\n");
                if (answer.startsWith("HTTP/1.1 200")) {
                    served++;
                } else {
                    refused = true;
                }
            }
            assertTrue(refused, "no connection was refused after " + served);
            assertTrue(served <= CONNECTIONS_MAX, served + " connections served at once");
        } finally {
            for (Socket socket : open) {
                socket.close();
            }
        }
        // Once they are gone the node serves again (the close is seen on the event loop: retry briefly).
        Wait.until("the node serves again", SERVED_AGAIN_TIMEOUT_MILLIS, () -> {
            try (Socket socket = new Socket("127.0.0.1", port)) {
                return exchange(socket, "GET /health/live HTTP/1.1\r\nHost: taraz\r\n\r\n").startsWith("HTTP/1.1 200");
            }
        });
    }

    @Test
    void anOversizedHeadIsRefused() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            String answer = exchange(socket, "GET /health/live HTTP/1.1\r\nHost: taraz\r\nX-Big: " + "b".repeat(8192) + "\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 4"), answer);
        }
    }

    @Test
    void aMethodOutsideTheContractIs405AndMintsNoMetricSeries() throws Exception {
        for (int i = 0; i < 5; i++) {
            try (Socket socket = new Socket("127.0.0.1", port)) {
                String answer = exchange(socket, "BREW" + i + " /v1/wallets HTTP/1.1\r\nHost: taraz\r\nAuthorization: Bearer "
                        + TestGateway.API_KEY + "\r\nContent-Length: 0\r\n\r\n");
                assertTrue(answer.startsWith("HTTP/1.1 405"), answer);
                assertTrue(answer.contains("method_not_allowed"), answer);
            }
        }
        String metrics = gateway.api().get("/metrics").text();
        assertFalse(metrics.contains("BREW"), "a client-chosen method became a label");
        assertTrue(metrics.contains("method=\"OTHER\""), "methods outside the contract are counted together");
        ApiClient.Response wallet = gateway.api().post("/v1/wallets", ApiClient.newKey(),
                new JsonObject().put("ownerId", ApiClient.newId("o")).put("kind", "driver"));
        assertEquals(201, wallet.status(), "the node still serves: " + wallet.text());
    }

    /** Sends {@code piece} every pause until the server closes the connection; true if it did. */
    private static boolean trickleUntilClosed(Socket socket, String piece) throws InterruptedException {
        byte[] bytes = piece.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < TRICKLE_STEPS; i++) {
            try {
                socket.getOutputStream().write(bytes);
                socket.getOutputStream().flush();
                socket.setSoTimeout(1);
                try {
                    if (socket.getInputStream().read() == -1) {
                        return true;
                    }
                } catch (java.net.SocketTimeoutException stillOpen) {
                    // Nothing from the server yet: go on trickling.
                }
            } catch (IOException closed) {
                return true;
            }
            Thread.sleep(TRICKLE_PAUSE_MILLIS);
        }
        return false;
    }

    /** Writes a raw request and reads what comes back until the server stops sending (or closes). */
    private static String exchange(Socket socket, String request) throws IOException {
        socket.setSoTimeout(3000);
        StringBuilder answer = new StringBuilder();
        try {
            socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[8192];
            int n = in.read(buffer);
            while (n > 0) {
                answer.append(new String(buffer, 0, n, StandardCharsets.US_ASCII));
                if (answer.indexOf("\r\n\r\n") >= 0 && in.available() == 0) {
                    break;
                }
                n = in.read(buffer);
            }
        } catch (IOException closed) {
            // A reset is a refusal like any other: the answer so far (often none) says which.
        }
        return answer.toString();
    }
}
