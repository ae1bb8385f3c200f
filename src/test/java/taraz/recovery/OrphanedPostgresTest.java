package taraz.recovery;

import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** kill -9 the gateway: its embedded PostgreSQL survives it; the next start must still come up. */
class OrphanedPostgresTest {

    @Test
    void killedGatewayRestartsOnTheSameDataDirectory() throws Exception {
        Path dataDir = TestGateway.tempDir("orphan-");
        int port = TestGateway.freePort();
        GatewayProcess first = GatewayProcess.start(dataDir, port, Map.of());
        String wallet = first.api().openWallet("passenger");
        first.api().fund(wallet, 70_000);
        first.kill();

        long orphan = GatewayProcess.postgresPid(dataDir);
        assertTrue(ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false), "PostgreSQL outlived its JVM");

        GatewayProcess second = GatewayProcess.start(dataDir, port, Map.of());
        try {
            assertEquals(200, second.readyStatus());
            assertTrue(GatewayProcess.exited(orphan), "the orphan was stopped");
            assertNotEquals(orphan, GatewayProcess.postgresPid(dataDir));
            ApiClient api = second.api();
            assertEquals(70_000, api.balance(wallet), "data survived the kill");
        } finally {
            second.close();
        }
    }
}
