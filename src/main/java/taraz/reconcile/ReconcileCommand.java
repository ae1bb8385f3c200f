package taraz.reconcile;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import taraz.config.Settings;
import taraz.db.Database;
import taraz.failpoint.Failpoints;
import taraz.journal.Checkpoint;
import taraz.journal.Inflight;
import taraz.journal.Journal;
import taraz.journal.JournalReader;
import taraz.journal.JournalScans;
import taraz.ledger.BatchWriter;
import taraz.ops.LogConfigurator;
import taraz.ops.LogContext;
import taraz.psp.HttpPayoutProvider;
import taraz.psp.PayoutReportCsv;
import taraz.psp.Psp;
import taraz.psp.ZarinpalPsp;
import taraz.reconcile.Finding.Kind;
import taraz.wiring.CommandDatabase;
import taraz.wiring.Flows;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code taraz reconcile}: finds every half-done or doubled payment (dry run), fixes what can be
 * fixed ({@code --apply}), and writes the reports. Runs against the gateway's database (the
 * embedded one, served by a running gateway or started here, or TARAZ_PG_URL), with the gateway
 * running or not. Exit status: 0 clean, 1 findings remain, 2 error (nothing applied).
 */
@Command(name = "reconcile", mixinStandardHelpOptions = true,
        description = "find and fix unfinished or duplicated payments; write the support report",
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:nothing remains", "1:findings remain (a dry run with findings, or ones --apply could not fix)",
                "2:an error (no --settlement file without --no-settlement, a bad settlement or payout report, the database "
                        + "unreachable): nothing was applied"})
public final class ReconcileCommand implements Callable<Integer> {

    static final int CLEAN = 0;
    static final int FINDINGS_REMAIN = 1;
    static final int ERROR = 2;
    private static final long STEP_TIMEOUT_MILLIS = 120_000;
    private static final int INSERT_BATCH = 500;

    @Option(names = "--settlement", paramLabel = "FILE", description = "the PSP's settlement CSV of one day; repeatable; "
            + "required unless --no-settlement")
    List<Path> settlements = new ArrayList<>();
    @Option(names = "--no-settlement", description = "reconcile without the bank's settlement report (the ledger, the "
            + "journal and the PSP's API only); without it and without --settlement, reconcile warns and exits 2")
    boolean noSettlement;
    @Option(names = "--payout-report", paramLabel = "FILE", description = "the payout provider's report of one day; repeatable")
    List<Path> payoutReports = new ArrayList<>();
    @Option(names = "--apply", description = "correct what is found (default: a dry run that changes nothing)")
    boolean apply;
    @Option(names = "--report-dir", paramLabel = "DIR", description = "write findings.json, findings.csv, support-cases.csv here")
    Path reportDir;
    @Option(names = "--rules", paramLabel = "FILE", description = "rules over the jar's defaults (default: conf/reconcile.json if present)")
    Path rulesFile;
    @Option(names = "--config", paramLabel = "FILE", description = "the settings file (TARAZ_CONFIG; default conf/taraz.json if present)")
    Path configFile;
    @Option(names = "--offline", description = "do not call the PSP's API (inquiry, unVerified, reverse)")
    boolean offline;
    @Option(names = "--trust-settlement", description = "credit a settled payment of a top-up closed as not paid even when "
            + "the bank cannot confirm it (inquiry down, or --offline); without it such a finding is left to support")
    boolean trustSettlement;
    @Option(names = "--data-dir", description = "data directory (TARAZ_DATA_DIR)")
    String dataDir;
    @Option(names = "--pg-url", description = "external PostgreSQL (TARAZ_PG_URL)")
    String pgUrl;
    @Option(names = "--psp-url", description = "PSP base URL (TARAZ_PSP_URL)")
    String pspUrl;

    private final PrintStream out = System.out;

    /**
     * Exit 2 without a settlement file unless {@code --no-settlement}. Log lines go to standard error: standard output is
     * the summary alone, for a cron mail or a script.
     */
    @Override
    public Integer call() {
        LogConfigurator.toStandardError();
        if (settlements.isEmpty() && !noSettlement) {
            // A cron job whose glob matched no file would otherwise run clean and look like a day with nothing wrong.
            System.err.println("taraz reconcile: no --settlement file given, so money the bank holds for a payment we do "
                    + "not know would go unseen. Pass the day's settlement CSV, or --no-settlement to reconcile without "
                    + "it. Nothing was checked.");
            return ERROR;
        }
        if (!settlements.isEmpty() && noSettlement) {
            System.err.println("taraz reconcile: --settlement and --no-settlement contradict each other. Nothing was checked.");
            return ERROR;
        }
        try {
            return run();
        } catch (SettlementFile.BadFile | PayoutReportCsv.MalformedReport e) {
            System.err.println("taraz reconcile: " + e.getMessage() + ". Nothing was applied.");
            return ERROR;
        } catch (Exception e) {
            System.err.println("taraz reconcile: failed, nothing more was applied: " + e);
            e.printStackTrace(System.err);
            return ERROR;
        }
    }

    private int run() throws Exception {
        Map<String, Object> flags = new HashMap<>();
        flags.put("dataDir", dataDir);
        flags.put("pgUrl", pgUrl);
        flags.put("pspUrl", pspUrl);
        Map<String, String> env = new HashMap<>(System.getenv());
        if (configFile != null) {
            env.put("TARAZ_CONFIG", configFile.toString());
        }
        Settings settings = Settings.load(env, flags);
        Rules rules = Rules.load(rulesFile);
        String runId = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").format(ZonedDateTime.now(ZoneOffset.UTC))
                + "-" + ProcessHandle.current().pid();
        try (CommandDatabase database = CommandDatabase.open(settings)) {
            Vertx vertx = Vertx.vertx();
            try {
                Database.Jdbc jdbc = Database.jdbc(database.url());
                try (Connection db = DriverManager.getConnection(jdbc.url(), jdbc.user(), jdbc.password())) {
                    return reconcile(settings, rules, runId, database.url(), db, vertx);
                }
            } finally {
                vertx.close().toCompletionStage().toCompletableFuture().get(STEP_TIMEOUT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        }
    }

    private int reconcile(Settings settings, Rules rules, String runId, String url, Connection db, Vertx vertx) throws Exception {
        long started = System.nanoTime();
        JsonObject run = new JsonObject().put("runId", runId).put("mode", apply ? "apply" : "dry-run")
                .put("startedAt", ZonedDateTime.now(ZoneOffset.UTC).toString());
        try (Statement s = db.createStatement()) {
            // The report's temp tables live in this session's local buffers, 8 MB by default, which a report of a
            // million rows thrashes; settable only before the session's first temp table. Sorts and hashes of a
            // million rows spill to disk at the default 4 MB.
            s.execute("SET temp_buffers = '256MB'");
            s.execute("SET work_mem = '64MB'");
        }
        db.setAutoCommit(false);
        db.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        try (Statement s = db.createStatement()) {
            s.execute("CREATE TEMP TABLE findings (seq bigserial PRIMARY KEY, kind text NOT NULL, finding_key text NOT NULL, "
                    + "flow text NOT NULL, payment_id text, wallet_id text, amount bigint NOT NULL, story text NOT NULL, "
                    + "plan text NOT NULL, status text NOT NULL DEFAULT 'open', done text)");
        }
        PreparedStatement insert = db.prepareStatement("INSERT INTO findings (kind, finding_key, flow, payment_id, wallet_id, "
                + "amount, story, plan) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        int[] pending = {0};
        Detector.Sink sink = f -> {
            insert.setString(1, f.kind().apiName());
            insert.setString(2, f.key());
            insert.setString(3, f.flow());
            insert.setString(4, f.paymentId());
            insert.setString(5, f.walletId());
            insert.setLong(6, f.amountRials());
            insert.setString(7, f.story());
            insert.setString(8, f.plan().toJson().encode());
            insert.addBatch();
            if (++pending[0] == INSERT_BATCH) {
                insert.executeBatch();
                pending[0] = 0;
            }
        };
        Detector detector = new Detector(db, rules, settings.psp().windowSeconds(), sink);

        Detector.Loaded loaded = detector.load(settlements, settings.requests().amountRialsMax(), LocalDate.now(ZoneOffset.UTC));
        Map<String, Integer> matched = detector.match();
        run.put("settlement", new JsonObject().put("files", new JsonArray(settlements.stream().map(Path::toString).toList()))
                .put("rows", loaded.rows()).put("days", new JsonArray(loaded.days().keySet().stream().map(LocalDate::toString).toList()))
                .put("matched", new JsonObject(new LinkedHashMap<>(matched))));

        Psp psp = offline ? new OfflinePsp() : new ZarinpalPsp(vertx, settings.psp().url(), settings.psp().merchantId(), settings.psp().accessToken(),
                rules.pspTimeoutMillis(), 0, new SimpleMeterRegistry());
        List<String> unverified = List.of();
        String pspNote;
        if (offline) {
            pspNote = "not asked (--offline)";
        } else {
            try {
                unverified = Corrector.await(psp.unverified(), rules.pspTimeoutMillis() * 2);
                pspNote = "reachable; " + unverified.size() + " paid but unverified payment(s) listed";
            } catch (Exception e) {
                pspNote = "not reachable (" + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage())
                        + "); inquiry and unVerified not used";
            }
        }
        run.put("psp", pspNote);
        detector.detect(null, unverified);
        List<PayoutReportCsv.Row> payoutRows = new ArrayList<>();
        for (Path report : payoutReports) {
            payoutRows.addAll(PayoutReportCsv.parse(Files.readString(report)));
        }
        new PayoutFindings(db, sink).detect(payoutRows);
        if (!offline) {
            int unanswered = new RefundFindings(db, sink, psp, rules.pspTimeoutMillis() * 2).detect();
            run.put("refunds", unanswered == 0 ? "checked against the bank"
                    : "the bank did not answer for " + unanswered + " payment(s) with refunds; those were not checked");
        }
        run.put("payoutReports", new JsonObject().put("files", new JsonArray(payoutReports.stream().map(Path::toString).toList()))
                .put("rows", payoutRows.size()));
        Path journalDir = settings.journalDir();
        String journalNote = "none at " + journalDir;
        if (JournalReader.exists(journalDir)) {
            Map<String, JournalScans.IncompleteEntry> incomplete = JournalScans.incomplete(journalDir, Checkpoint.read(journalDir));
            detector.journal(incomplete);
            journalNote = incomplete.size() + " incomplete payment(s) in " + journalDir;
        }
        run.put("journal", journalNote);
        JsonObject seconds = new JsonObject();
        detector.timings().forEach((phase, t) -> seconds.put(phase, Math.round(t * 10) / 10.0));
        run.put("phaseSeconds", seconds);
        insert.executeBatch();
        insert.close();
        db.commit();
        db.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);

        if (apply) {
            applyAll(settings, rules, runId, url, db, vertx, psp);
        }
        Map<String, long[]> summary = summary(db);
        run.put("seconds", (System.nanoTime() - started) / 1e9);
        if (reportDir != null) {
            Reports.write(db, reportDir, run, summary);
        }
        db.commit();
        long remaining = summary.values().stream().mapToLong(c -> c[1]).sum();
        print(run, summary, remaining);
        return remaining == 0 ? CLEAN : FINDINGS_REMAIN;
    }

    private void applyAll(Settings settings, Rules rules, String runId, String url, Connection db, Vertx vertx,
                          Psp psp) throws Exception {
        Pool pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(4)).connectingTo(Database.connectOptions(url))
                .using(vertx).build();
        String node = "reconcile-" + ProcessHandle.current().pid();
        LogContext.node(node);
        Journal journal = Journal.open(settings.journal(), new SimpleMeterRegistry());
        Failpoints failpoints = Failpoints.parse(vertx, settings.failpoints());
        Flows flows = Flows.wire(vertx, settings, url, pool, journal, failpoints, node, psp, new HttpPayoutProvider(vertx,
                        settings.payouts().url(), rules.pspTimeoutMillis(), 0, new SimpleMeterRegistry()), new Inflight(),
                new SimpleMeterRegistry());
        BatchWriter writer = flows.writer();
        try {
            Corrector.await(writer.start(), STEP_TIMEOUT_MILLIS);
            Corrector corrector = new Corrector(vertx, pool, flows.ledger(), writer, flows.topups(), flows.trips(), flows.payouts(), psp, rules,
                    settings.psp().windowSeconds(), runId, failpoints, offline, trustSettlement);
            try (PreparedStatement read = db.prepareStatement("SELECT seq, kind, finding_key, flow, payment_id, wallet_id, amount, "
                    + "story, plan FROM findings ORDER BY kind = 'ledger_imbalance', seq");
                 PreparedStatement update = db.prepareStatement("UPDATE findings SET status = ?, done = ? WHERE seq = ?")) {
                read.setFetchSize(500);
                try (ResultSet r = read.executeQuery()) {
                    while (r.next()) {
                        Finding f = new Finding(Kind.of(r.getString(2)), r.getString(3), r.getString(4), r.getString(5),
                                r.getString(6), r.getLong(7), r.getString(8), Plan.fromJson(new JsonObject(r.getString(9))));
                        Corrector.Outcome outcome = Corrector.await(corrector.apply(f), STEP_TIMEOUT_MILLIS);
                        update.setString(1, outcome.status());
                        update.setString(2, outcome.done());
                        update.setLong(3, r.getLong(1));
                        update.executeUpdate();
                    }
                }
            }
            db.commit();
        } finally {
            Corrector.await(writer.close(), STEP_TIMEOUT_MILLIS);
            journal.close();
            pool.close().toCompletionStage().toCompletableFuture().get(STEP_TIMEOUT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    /** Per kind: found, and remaining (not fixed by this run or another). */
    private static Map<String, long[]> summary(Connection db) throws SQLException {
        Map<String, long[]> summary = new LinkedHashMap<>();
        try (Statement s = db.createStatement();
             ResultSet r = s.executeQuery("SELECT kind, count(*), count(*) FILTER (WHERE status NOT IN ('fixed', 'already_fixed')) "
                     + "FROM findings GROUP BY kind")) {
            Map<String, long[]> byKind = new HashMap<>();
            while (r.next()) {
                byKind.put(r.getString(1), new long[] {r.getLong(2), r.getLong(3)});
            }
            for (Kind kind : Kind.values()) {
                summary.put(kind.apiName(), byKind.getOrDefault(kind.apiName(), new long[] {0, 0}));
            }
        }
        return summary;
    }

    private void print(JsonObject run, Map<String, long[]> summary, long remaining) {
        JsonObject settlement = run.getJsonObject("settlement");
        out.println("taraz reconcile " + run.getString("runId") + " (" + run.getString("mode") + ")");
        out.println("  settlement: " + settlement.getLong("rows") + " row(s) in " + settlement.getJsonArray("files").size()
                + " file(s), days " + settlement.getJsonArray("days").encode() + "; matched " + settlement.getJsonObject("matched").encode());
        out.println("  psp: " + run.getString("psp"));
        out.println("  journal: " + run.getString("journal"));
        out.println("  seconds by phase: " + run.getJsonObject("phaseSeconds").encode());
        long found = 0;
        for (Map.Entry<String, long[]> kind : summary.entrySet()) {
            found += kind.getValue()[0];
            if (kind.getValue()[0] > 0) {
                out.printf("  %-24s %6d found, %6d remaining%n", kind.getKey(), kind.getValue()[0], kind.getValue()[1]);
            }
        }
        out.printf("  %d finding(s), %d remaining, in %.1f s%s%n", found, remaining, run.getDouble("seconds"),
                reportDir != null ? "; reports in " + reportDir : "");
        if (!apply && remaining > 0) {
            out.println("  dry run: nothing was changed; run again with --apply to correct");
        }
    }
}
