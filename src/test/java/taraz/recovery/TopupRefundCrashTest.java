package taraz.recovery;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import taraz.failpoint.Failpoints;
import taraz.support.ApiClient;
import taraz.support.GatewayProcess;
import taraz.support.Refunds;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;
import taraz.support.Topups;
import taraz.support.Wait;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A real gateway process halts at each refund failpoint, then starts again on the same data directory while the PSP
 * simulator keeps running: the refund completes exactly once at the bank (one refund in its timeline, or one reverse)
 * and once in the ledger (one posted hold, one transfer), and the journal ends REFUNDED. And reconcile, run after
 * refunds with the bank's settlement report (a reversed payment listed REVERSED), finds nothing and moves nothing.
 */
class TopupRefundCrashTest {

    private static final long AMOUNT_RIALS = 200_000;
    private static final long PART_RIALS = 50_000;
    private static final long EXIT_TIMEOUT_MILLIS = 60_000;
    private static final long AWAIT_MILLIS = 30_000;
    private static final long RECONCILE_TIMEOUT_MILLIS = 120_000;
    private static TestPsp psp;

    @BeforeAll
    static void startPsp() {
        psp = TestPsp.start(TestGateway.tempDir("psp-"));
    }

    @AfterAll
    static void stopPsp() {
        psp.stop();
    }

    private static Map<String, String> env(Path dataDir, String failpoint) throws Exception {
        return env(dataDir, failpoint, psp);
    }

    private static Map<String, String> env(Path dataDir, String failpoint, TestPsp psp) throws Exception {
        Map<String, String> env = new HashMap<>(GatewayProcess.config(dataDir.resolve(failpoint == null ? "settings" : "first-start"),
                Map.of("topupSweepIntervalMillis", 300, "topupCallbackGraceSeconds", 1)));
        env.put("TARAZ_PSP_URL", psp.baseUrl());
        if (failpoint != null) {
            env.put("TARAZ_FAILPOINTS", failpoint + "=crash");
        }
        return env;
    }

    @ParameterizedTest
    @CsvSource({"refund.after-hold, 50000", "refund.after-bank, 50000", "refund.after-post, 50000",
            "refund.after-bank, 200000"})
    void crashThenRestartRefundsOnce(String failpoint, long refundRials) throws Exception {
        Path dataDir = TestGateway.tempDir("refund-crash-");
        int port = TestGateway.freePort();
        GatewayProcess first = GatewayProcess.start(dataDir, port, env(dataDir, failpoint));
        ApiClient api = first.api();
        Refunds.Credited credited = Refunds.credited(api, psp, AMOUNT_RIALS, AWAIT_MILLIS);
        String key = ApiClient.newKey();
        String refundId = Refunds.refundId(key);
        assertThrows(UncheckedIOException.class, () -> Refunds.refund(api, credited.topupId(), refundRials, key), "dies before answering");
        assertEquals(Failpoints.CRASH_EXIT_STATUS, first.awaitExit(EXIT_TIMEOUT_MILLIS), first.output());

        GatewayProcess second = GatewayProcess.start(dataDir, port, env(dataDir, null));
        try {
            ApiClient again = second.api();
            JsonObject refund = Refunds.awaitState(again, refundId, "REFUNDED", AWAIT_MILLIS);
            // The admin retries the request with the same key: the same refund, done.
            ApiClient.Response retried = Wait.until("the retry past the crashed request's claim", AWAIT_MILLIS,
                    () -> again.postAdmin(Refunds.path(credited.topupId()), key, Refunds.body(refundRials)),
                    r -> r.status() != 409 || !"request_in_progress".equals(r.errorCode()));
            assertEquals(201, retried.status(), retried.text());
            assertEquals(refundId, retried.json().getString("refundId"));
            assertEquals("REFUNDED", retried.json().getString("state"), retried.text());
            assertEquals(1, refund.getInteger("sends"), "sent to the bank once: " + refund.encode());

            JsonObject atBank = psp.payment(credited.authority());
            if (refundRials == AMOUNT_RIALS) {
                assertEquals("REVERSE", refund.getString("method"));
                assertEquals("REVERSED", atBank.getString("status"), atBank.encode());
            } else {
                assertEquals("REFUND", refund.getString("method"));
                assertEquals(1, atBank.getJsonArray("refunds").size(), atBank.encode());
                assertEquals(refundRials, atBank.getJsonArray("refunds").getJsonObject(0).getLong("amount"));
            }
            assertEquals(AMOUNT_RIALS - refundRials, again.balance(credited.wallet()), "debited exactly once");
            assertEquals(AMOUNT_RIALS - refundRials, again.available(credited.wallet()), "no hold left");
            try (Connection c = GatewayProcess.connectToDatabase(dataDir)) {
                assertEquals(1, Sql.count(c, "SELECT count(*) FROM transfers WHERE id = ?", "refund:" + refundId + ":post"));
                assertEquals(1, Sql.count(c, "SELECT count(*) FROM holds WHERE id = ? AND state = 'POSTED'", "refund:" + refundId + ":hold"));
            }
            assertEquals("REFUNDED", TripCrashTest.lastJournalState(dataDir, refundId), "the journal ends REFUNDED");
            Sql.assertLedgerAddsUp(dataDir);
        } finally {
            second.close();
        }
    }

    /**
     * Reconcile after a reverse and a partial refund, with the bank's settlement report of the day: the reversed
     * top-up is REVERSED there yet was credited and then refunded through its refund, which must not read as a
     * credit the bank never paid (a second debit of the wallet). Nothing is found, nothing moves, twice.
     */
    @Test
    void reconcileAfterRefundsChangesNothing() throws Exception {
        Path dataDir = TestGateway.tempDir("refund-reconcile-");
        // A bank of its own: its settlement report then lists only this test's payments.
        TestPsp psp = TestPsp.start(dataDir.resolve("psp-sim"));
        GatewayProcess gateway = GatewayProcess.start(dataDir, TestGateway.freePort(), env(dataDir, null, psp));
        try {
            ApiClient api = gateway.api();
            String wallet = api.openWallet("passenger");
            String reversed = Topups.paidAndCredited(api, psp, wallet, AMOUNT_RIALS, AWAIT_MILLIS);
            String partly = Topups.paidAndCredited(api, psp, wallet, AMOUNT_RIALS, AWAIT_MILLIS);
            assertEquals("REVERSE", Refunds.refund(api, reversed, AMOUNT_RIALS, ApiClient.newKey()).json().getString("method"));
            assertEquals("REFUNDED", Refunds.refund(api, partly, PART_RIALS, ApiClient.newKey()).json().getString("state"));
            assertEquals(AMOUNT_RIALS - PART_RIALS, api.balance(wallet));

            Path settlement = dataDir.resolve("settlement.csv");
            Files.writeString(settlement, psp.settlement(LocalDate.now(ZoneOffset.UTC).toString()));
            long transfers;
            try (Connection c = GatewayProcess.connectToDatabase(dataDir)) {
                transfers = Sql.count(c, "SELECT count(*) FROM transfers");
            }
            for (int run = 1; run <= 2; run++) {
                GatewayProcess.Result result = GatewayProcess.run(List.of("reconcile", "--apply", "--psp-url", psp.baseUrl(),
                        "--settlement", settlement.toString()), dataDir, RECONCILE_TIMEOUT_MILLIS);
                assertEquals(0, result.status(), "run " + run + " found discrepancies:\n" + result.output());
                try (Connection c = GatewayProcess.connectToDatabase(dataDir)) {
                    assertEquals(transfers, Sql.count(c, "SELECT count(*) FROM transfers"), "run " + run + " moved money");
                }
                assertEquals(AMOUNT_RIALS - PART_RIALS, api.balance(wallet));
            }
            Sql.assertLedgerAddsUp(dataDir);
        } finally {
            gateway.close();
            psp.stop();
        }
    }
}
