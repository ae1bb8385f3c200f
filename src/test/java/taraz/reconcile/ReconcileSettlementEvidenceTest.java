package taraz.reconcile;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import taraz.psp.SettlementCsv;
import taraz.support.ApiClient;
import taraz.support.ReconcileDb;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bank's settlement report lists as SETTLED a top-up our flow closed FAILED. The report is
 * evidence, not an order: the bank's inquiry confirms the payment before the wallet is credited;
 * when the bank cannot answer, support decides, unless the operator passes --trust-settlement.
 */
class ReconcileSettlementEvidenceTest {

    private static final String MERCHANT = "00000000-0000-4000-8000-000000000000";
    private static final long AMOUNT_RIALS = 420_000;
    private static final String CUSTOMER_NAME = "=HYPERLINK(\"http://evil.example/\",\"refund\")";
    private static final String CUSTOMER_PHONE = "+989121234567";

    private Path dir;
    private TestPsp psp;
    private ReconcileDb db;
    private String wallet;
    private String topupId;

    @BeforeEach
    void start() throws Exception {
        dir = TestGateway.tempDir("recon-evidence-");
        psp = TestPsp.start(dir.resolve("psp"));
        db = ReconcileDb.create();
    }

    @AfterEach
    void stop() {
        psp.stop();
    }

    @Test
    void theBankSaysNotPaidSoNothingIsCredited() throws Exception {
        Path settlement = failedTopupListedAsSettled(false);
        assertEquals(1, reconcile(settlement, "--apply"));
        assertNotCredited("manual", "says IN_BANK");
    }

    @Test
    void theBankCannotAnswerSoSupportDecides() throws Exception {
        Path settlement = failedTopupListedAsSettled(false);
        psp.faults(TestPsp.defaultFaults().put("endpoints", new JsonObject().put("inquiry", new JsonObject().put("errorRate", 1.0))));
        assertEquals(1, reconcile(settlement, "--apply"));
        assertNotCredited("manual", "could not confirm");
        assertEquals(1, reconcile(settlement, "--apply", "--offline"));
        assertNotCredited("manual", "could not confirm");
    }

    @Test
    void theOperatorTrustsTheReportSoItIsCreditedOnce() throws Exception {
        Path settlement = failedTopupListedAsSettled(false);
        assertEquals(0, reconcile(settlement, "--apply", "--offline", "--trust-settlement"));
        assertEquals(0, reconcile(settlement, "--apply", "--offline", "--trust-settlement"), "a second run finds nothing");
        assertCreditedOnce();
    }

    @Test
    void theBankConfirmsSoItIsCreditedOnce() throws Exception {
        Path settlement = failedTopupListedAsSettled(true);
        assertEquals(0, reconcile(settlement, "--apply"));
        assertEquals(0, reconcile(settlement, "--apply"), "a second run finds nothing");
        assertCreditedOnce();
    }

    /**
     * A customer's name that a spreadsheet would run as a formula, and a phone starting with +:
     * both are text in the reports, with a leading quote; the amount stays a number.
     */
    @Test
    void reportCellsAreNeverFormulas() throws Exception {
        Path settlement = failedTopupListedAsSettled(false);
        assertEquals(1, reconcile(settlement), "a dry run");
        Path report = dir.resolve("last");
        List<String> support = Files.readAllLines(report.resolve("support-cases.csv"), StandardCharsets.UTF_8);
        assertEquals(2, support.size(), String.join("\n", support));
        String row = support.get(1);
        assertTrue(row.contains(",\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"refund\"\")\","), row);
        assertTrue(row.contains(",'" + CUSTOMER_PHONE + ","), row);
        assertTrue(row.contains("," + AMOUNT_RIALS + ","), "the amount is a bare number: " + row);
        for (String line : Files.readAllLines(report.resolve("findings.csv"), StandardCharsets.UTF_8)) {
            for (String cell : line.replace("\uFEFF", "").split(",")) {
                assertTrue(cell.isEmpty() || "=+-@\t\r".indexOf(cell.charAt(0)) < 0, "a formula cell in findings.csv: " + line);
            }
        }
    }

    /**
     * A top-up closed FAILED whose bank payment the report lists as SETTLED; {@code paid}: the
     * cardholder did pay and the bank verified it, else the bank never saw the money.
     */
    private Path failedTopupListedAsSettled(boolean paid) throws Exception {
        String authority = psp.zarinpal("request", new JsonObject().put("merchant_id", MERCHANT).put("amount", AMOUNT_RIALS)
                .put("callback_url", "http://127.0.0.1:9/none").put("description", "top-up")).getJsonObject("data").getString("authority");
        String refId = "9000001";
        if (paid) {
            psp.pay(authority, "OK", "4321");
            JsonObject verified = psp.zarinpal("verify", new JsonObject().put("merchant_id", MERCHANT).put("authority", authority)
                    .put("amount", AMOUNT_RIALS)).getJsonObject("data");
            refId = String.valueOf(verified.getValue("ref_id"));
        }
        wallet = ApiClient.newId("w-evidence");
        topupId = ApiClient.newId("tp-evidence");
        try (Connection c = db.connect()) {
            Sql.update(c, "INSERT INTO accounts (id, kind, owner_id, name, phone) VALUES (?, 'passenger', ?, ?, ?)",
                    wallet, wallet, CUSTOMER_NAME, CUSTOMER_PHONE);
            Sql.update(c, "INSERT INTO topups (topup_id, wallet_id, amount_rials, gateway, state, authority, created_at, requested_at, updated_at) "
                    + "VALUES (?, ?, ?, 'zarinpal', 'FAILED', ?, now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour')",
                    topupId, wallet, AMOUNT_RIALS, authority);
        }
        String today = LocalDate.now(ZoneOffset.UTC).toString();
        Path settlement = dir.resolve("settlement-" + today + ".csv");
        Files.writeString(settlement, SettlementCsv.HEADER + "\n"
                + today + ",T1001," + authority + "," + refId + ",603799******4321," + AMOUNT_RIALS + ",SETTLED\n");
        return settlement;
    }

    private int reconcile(Path settlement, String... more) throws Exception {
        Path rules = dir.resolve("rules.json");
        Files.writeString(rules, new JsonObject(Files.readString(Path.of("conf", "reconcile.json"))).put("minAgeSeconds", 0)
                .put("pspTimeoutMillis", 1000).encode());
        List<String> args = new ArrayList<>(List.of("--psp-url", psp.baseUrl(), "--rules", rules.toString(),
                "--settlement", settlement.toString(), "--report-dir", dir.resolve("last").toString()));
        args.addAll(List.of(more));
        return db.reconcile(args.toArray(String[]::new));
    }

    private void assertNotCredited(String status, String why) throws Exception {
        JsonObject finding = new JsonObject(Files.readString(dir.resolve("last").resolve("findings.json")))
                .getJsonArray("findings").getJsonObject(0);
        assertEquals("paid_not_credited", finding.getString("kind"), finding.encode());
        assertEquals(status, finding.getString("status"), finding.encode());
        assertTrue(finding.getString("whatWasDone").contains(why), finding.encode());
        assertEquals(0, db.count("SELECT count(*) FROM transfers"));
        assertEquals(0, db.count("SELECT balance_rials FROM accounts WHERE id = ?", wallet));
        assertEquals(1, db.count("SELECT count(*) FROM topups WHERE topup_id = ? AND state = 'FAILED'", topupId));
    }

    private void assertCreditedOnce() throws Exception {
        assertEquals(AMOUNT_RIALS, db.count("SELECT balance_rials FROM accounts WHERE id = ?", wallet));
        assertEquals(1, db.count("SELECT count(*) FROM transfers"));
        assertEquals(1, db.count("SELECT count(*) FROM topups WHERE topup_id = ? AND state = 'CREDITED'", topupId));
        assertEquals(0, db.count("SELECT coalesce(sum(balance_rials), 0) FROM accounts"));
    }
}
