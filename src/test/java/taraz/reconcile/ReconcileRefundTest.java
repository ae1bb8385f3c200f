package taraz.reconcile;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Refunds;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Top-up refunds against the bank's answers: a refund the bank made that taraz recorded FAILED (its money back in the
 * wallet), and one taraz recorded REFUNDED that the bank never made, are each found, named for support, and listed in
 * support-cases.csv; nothing is moved for them.
 */
class ReconcileRefundTest {

    private static final long TOPUP_RIALS = 1_000_000;
    private static final long REFUND_RIALS = 100_000;
    /** Below the bank's 20,000-rial floor: the bank refuses it, the refund ends FAILED. */
    private static final long REFUSED_RIALS = 10_000;
    private static final long AWAIT_MILLIS = 30_000;
    private static final long RECONCILE_MILLIS = 120_000;

    @Test
    void refundsTheBankDisagreesWithAreFoundForSupport() throws Exception {
        Path dir = TestGateway.tempDir("recon-refund-");
        TestPsp psp = TestPsp.start(dir.resolve("psp"));
        Path dataDir = dir.resolve("data");
        try (GatewayProcess gateway = GatewayProcess.start(dataDir, TestGateway.freePort(), Map.of("TARAZ_PSP_URL", psp.baseUrl()))) {
            ApiClient api = gateway.api();
            Refunds.Credited topup = Refunds.credited(api, psp, TOPUP_RIALS, AWAIT_MILLIS);
            String madeKey = ApiClient.newKey();
            String refusedKey = ApiClient.newKey();
            assertEquals(201, Refunds.refund(api, topup.topupId(), REFUND_RIALS, madeKey).status());
            Refunds.awaitState(api, Refunds.refundId(madeKey), "REFUNDED", AWAIT_MILLIS);
            assertEquals(201, Refunds.refund(api, topup.topupId(), REFUSED_RIALS, refusedKey).status());
            Refunds.awaitState(api, Refunds.refundId(refusedKey), "FAILED", AWAIT_MILLIS);
            String made = Refunds.refundId(madeKey);
            String refused = Refunds.refundId(refusedKey);
            try (Connection c = GatewayProcess.connectToDatabase(dataDir)) {
                // What a lost answer and a bug could leave: the states swapped, the money as it was.
                Sql.update(c, "UPDATE topup_refunds SET state = 'FAILED' WHERE refund_id = ?", made);
                Sql.update(c, "UPDATE topup_refunds SET state = 'REFUNDED' WHERE refund_id = ?", refused);
            }
            long balance = api.balance(topup.wallet());

            Path report = dir.resolve("report");
            GatewayProcess.Result run = GatewayProcess.run(List.of("reconcile", "--no-settlement", "--psp-url", psp.baseUrl(),
                    "--report-dir", report.toString()), dataDir, RECONCILE_MILLIS);
            assertEquals(1, run.status(), run.output());
            JsonArray findings = new JsonObject(Files.readString(report.resolve("findings.json"))).getJsonArray("findings");
            Set<String> keys = findings.stream().map(f -> ((JsonObject) f).getString("key")).collect(Collectors.toSet());
            assertEquals(Set.of("refund_made_but_failed:refund:" + made, "refund_not_at_bank:refund:" + refused), keys,
                    findings.encodePrettily());
            String cases = Files.readString(report.resolve("support-cases.csv"));
            assertTrue(cases.contains(topup.wallet()) && cases.contains("refund_made_but_failed") && cases.contains("refund_not_at_bank"),
                    cases);
            assertEquals(balance, api.balance(topup.wallet()), "support decides; reconcile moves nothing");
        } finally {
            psp.stop();
        }
    }
}
