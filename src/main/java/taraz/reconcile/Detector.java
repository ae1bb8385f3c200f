package taraz.reconcile;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import taraz.journal.JournalScans;
import taraz.ledger.AccountKind;
import taraz.ledger.Hold;
import taraz.reconcile.Finding.Kind;
import taraz.topup.Refund;
import taraz.topup.Topup;
import taraz.trip.Trip;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Finds the discrepancies, on one JDBC connection inside one REPEATABLE READ transaction (a
 * consistent snapshot while the gateway writes), which the caller opens and commits. The
 * settlement report is loaded into a temporary table with COPY and matched to top-ups there, and
 * every check is one query whose result is streamed with a cursor, so memory does not grow with
 * the ledger or the report; only the findings leave the database.
 *
 * <p>The checks compare what each payment's money should be with what the ledger holds for it
 * (the sum of its entries by account, over every transfer carrying its payment id, corrections
 * included), so a fixed payment is clean on the next run whatever path fixed it.
 */
public final class Detector {

    /** Receives each finding as it is found. */
    public interface Sink {
        void accept(Finding finding) throws SQLException;
    }

    private static final int FETCH = 2_000;
    private static final int COPY_CHUNK_BYTES = 1 << 16;

    private final Connection db;
    private final Rules rules;
    private final long pspWindowSeconds;
    private final Sink sink;
    private final Map<Kind, Long> counts = new TreeMap<>();
    private final Map<String, Double> timings = new LinkedHashMap<>();

    public Detector(Connection db, Rules rules, long pspWindowSeconds, Sink sink) throws SQLException {
        this.db = db;
        this.rules = rules;
        this.pspWindowSeconds = pspWindowSeconds;
        this.sink = sink;
        if (db.getAutoCommit() || db.getTransactionIsolation() != Connection.TRANSACTION_REPEATABLE_READ) {
            throw new IllegalArgumentException("the detector needs a connection in a REPEATABLE READ transaction");
        }
        try (Statement s = db.createStatement()) {
            s.execute("CREATE TEMP TABLE stl (id bigserial NOT NULL, file text NOT NULL, line int NOT NULL, "
                    + "day date NOT NULL, terminal text NOT NULL, authority text NOT NULL, ref_id text NOT NULL, "
                    + "masked_card text NOT NULL, amount bigint NOT NULL, status text NOT NULL, paid_at timestamptz, "
                    + "topup_id text)");
            s.execute("CREATE TEMP TABLE stl_days (day date PRIMARY KEY, file text NOT NULL)");
        }
    }

    public Map<Kind, Long> counts() {
        return counts;
    }

    // ---- the settlement report -------------------------------------------------------------

    /** What was loaded: rows and the days covered. */
    public record Loaded(long rows, Map<LocalDate, String> days) {}

    /**
     * Reads, checks and loads the files. A bad file, two files of one day, or a payment listed
     * twice throws {@link SettlementFile.BadFile} naming the lines; nothing has been applied then.
     */
    public Loaded load(List<Path> files, long amountRialsMax, LocalDate today) throws Exception {
        long started = System.nanoTime();
        Map<LocalDate, String> days = new TreeMap<>();
        long rows = 0;
        for (Path file : files) {
            CopyIn copy = db.unwrap(PGConnection.class).getCopyAPI().copyIn(
                    "COPY stl (file, line, day, terminal, authority, ref_id, masked_card, amount, status, paid_at) FROM STDIN");
            ByteArrayOutputStream buffer = new ByteArrayOutputStream(COPY_CHUNK_BYTES * 2);
            long[] count = {0};
            LocalDate day;
            try {
                day = SettlementFile.read(file, amountRialsMax, today, row -> {
                    String line = String.join("\t", copyText(row.file()), Integer.toString(row.line()), row.day().toString(),
                            row.terminal(), row.authority(), row.refId(), row.maskedCard(), Long.toString(row.amountRials()),
                            row.status(), row.paidAt() == null ? "\\N" : row.paidAt().toString()) + "\n";
                    buffer.writeBytes(line.getBytes(StandardCharsets.UTF_8));
                    if (buffer.size() >= COPY_CHUNK_BYTES) {
                        copy.writeToCopy(buffer.toByteArray(), 0, buffer.size());
                        buffer.reset();
                    }
                    count[0]++;
                });
                if (buffer.size() > 0) {
                    copy.writeToCopy(buffer.toByteArray(), 0, buffer.size());
                }
                copy.endCopy();
            } finally {
                if (copy.isActive()) {
                    copy.cancelCopy();
                }
            }
            String earlier = days.putIfAbsent(day, file.toString());
            if (earlier != null) {
                throw SettlementFile.bad(file.toString(), 1, "covers " + day + ", which " + earlier + " already covers");
            }
            rows += count[0];
        }
        try (PreparedStatement days_ = db.prepareStatement("INSERT INTO stl_days (day, file) VALUES (?, ?)");
             Statement s = db.createStatement()) {
            for (Map.Entry<LocalDate, String> e : days.entrySet()) {
                days_.setObject(1, e.getKey());
                days_.setString(2, e.getValue());
                days_.addBatch();
            }
            days_.executeBatch();
            // The key after the rows: one sorted build instead of a b-tree insert per row.
            s.execute("ALTER TABLE stl ADD PRIMARY KEY (id)");
            try (ResultSet dup = s.executeQuery("SELECT authority, array_agg(file || ' line ' || line ORDER BY id) "
                    + "FROM stl GROUP BY authority HAVING count(*) > 1 ORDER BY min(id) LIMIT 1")) {
                if (dup.next()) {
                    String[] where = (String[]) dup.getArray(2).getArray();
                    throw new SettlementFile.BadFile("settlement file " + where[1] + ": duplicates " + where[0]
                            + " (authority " + dup.getString(1) + " is listed " + where.length + " times)");
                }
            }
        }
        timings.put("load", (System.nanoTime() - started) / 1e9);
        return new Loaded(rows, days);
    }

    private static String copyText(String value) {
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
    }

    /** Matches settlement rows to top-ups one-to-one, stage by stage in the rules' order; rows matched per stage. */
    public Map<String, Integer> match() throws SQLException {
        long started = System.nanoTime();
        Map<String, Integer> matched = new LinkedHashMap<>();
        String topupTime = "coalesce(t.verified_at, t.callback_at, t.requested_at, t.created_at)";
        String timeClose = "CASE WHEN s.paid_at IS NULL THEN (" + topupTime + " AT TIME ZONE 'UTC')::date = s.day "
                + "ELSE abs(extract(epoch FROM " + topupTime + " - s.paid_at)) <= " + rules.timeDriftSeconds() + " END";
        String free = "NOT EXISTS (SELECT 1 FROM stl_match m WHERE m.id = s.id) "
                + "AND NOT EXISTS (SELECT 1 FROM stl_match x WHERE x.topup_id = t.topup_id)";
        try (Statement s = db.createStatement()) {
            s.execute("CREATE TEMP TABLE stl_match (id bigint NOT NULL, topup_id text NOT NULL)");
            for (String stage : rules.match()) {
                String sql = switch (stage) {
                    case "authority" -> "INSERT INTO stl_match (id, topup_id) SELECT s.id, t.topup_id "
                            + "FROM stl s JOIN topups t ON t.authority = s.authority WHERE " + free;
                    case "ref_id" -> oneToOne("t.ref_id = s.ref_id AND s.ref_id <> '' AND " + free, "t.topup_id");
                    case "amount_card_time" -> oneToOne("t.amount_rials = s.amount AND s.masked_card <> '' "
                            + "AND t.card_pan = s.masked_card AND " + free + " AND " + timeClose,
                            "abs(extract(epoch FROM " + topupTime + " - coalesce(s.paid_at, s.day::timestamptz))), t.topup_id");
                    default -> throw new IllegalStateException("unknown stage " + stage);
                };
                matched.put(stage, s.executeUpdate(sql));
                s.execute("ANALYZE stl_match");
            }
            // The matches written into the report in one rewrite: an UPDATE of each matched row (a new row version
            // and index entries each) costs several times more, and leaves the table twice its size.
            s.execute("CREATE TEMP TABLE stl_matched AS SELECT s.id, s.file, s.line, s.day, s.terminal, s.authority, s.ref_id, "
                    + "s.masked_card, s.amount, s.status, s.paid_at, m.topup_id "
                    + "FROM stl s LEFT JOIN stl_match m ON m.id = s.id");
            s.execute("DROP TABLE stl");
            s.execute("ALTER TABLE stl_matched RENAME TO stl");
            s.execute("ALTER TABLE stl ADD PRIMARY KEY (id)");
            s.execute("CREATE INDEX stl_topup ON stl (topup_id)");
            // For each unmatched bank row, its twin (same card and amount) among the matched ones: see bankRows().
            s.execute("CREATE INDEX stl_card ON stl (masked_card, amount)");
            // Statistics of the matched report: those taken at load saw no topup_id at all (estimated 1 matched row).
            s.execute("ANALYZE stl");
        }
        timings.put("match", (System.nanoTime() - started) / 1e9);
        return matched;
    }

    /** A stage that can match one row to several top-ups or the reverse: closest first, then each side once. */
    private static String oneToOne(String condition, String closest) {
        return "WITH cand AS (SELECT DISTINCT ON (s.id) s.id, t.topup_id FROM stl s JOIN topups t ON " + condition
                + " ORDER BY s.id, " + closest + "), "
                + "one AS (SELECT DISTINCT ON (topup_id) id, topup_id FROM cand ORDER BY topup_id, id) "
                + "INSERT INTO stl_match (id, topup_id) SELECT id, topup_id FROM one";
    }

    // ---- the checks ------------------------------------------------------------------------

    /**
     * Which rows the account, trip and top-up checks judge: all of them, or only those the caller
     * listed in the temporary tables {@code chk_accounts}, {@code chk_trips} and {@code chk_topups}
     * (one column {@code id}), which it creates in this transaction before {@link #detect}. The
     * judgement is the same code either way, so the fast checks and the full scan agree.
     */
    public enum Scope {
        ALL, LISTED;

        /** The condition that keeps a row of {@code column} in this scope. */
        String keeps(String column, String table) {
            return this == ALL ? "true" : column + " IN (SELECT id FROM " + table + ")";
        }
    }

    /** Runs every check over all rows; see {@link #detect(OffsetDateTime, Collection, Scope)}. */
    public void detect(OffsetDateTime since, Collection<String> paidUnverified) throws SQLException {
        detect(since, paidUnverified, Scope.ALL);
    }

    /**
     * Runs every check. {@code since} limits the payment checks to payments created since then
     * (the gateway's periodic job); null checks them all. {@code paidUnverified} is the bank's
     * list of paid but unverified authorities (empty when the bank is not reachable).
     */
    public void detect(OffsetDateTime since, Collection<String> paidUnverified, Scope scope) throws SQLException {
        timed("ledger", this::ledger);
        timed("accounts", () -> accounts(scope));
        timed("holds", this::holds);
        timed("trips", () -> trips(since, scope));
        timed("topups", () -> topups(since, paidUnverified, scope));
        timed("bank rows", this::bankRows);
    }

    /** Seconds each phase took, in order (load, match and each check). */
    public Map<String, Double> timings() {
        return timings;
    }

    private interface Phase {
        void run() throws SQLException;
    }

    private void timed(String name, Phase phase) throws SQLException {
        long started = System.nanoTime();
        phase.run();
        timings.merge(name, (System.nanoTime() - started) / 1e9, Double::sum);
    }

    private void ledger() throws SQLException {
        try (Statement s = db.createStatement();
             ResultSet r = s.executeQuery("SELECT coalesce(sum(balance_rials), 0)::bigint FROM accounts")) {
            r.next();
            long balances = r.getLong(1);
            if (balances != 0) {
                // The entries are summed only when the balances do not add up: that reads the whole ledger,
                // the balances only one row per account, which the fast checks do every round.
                long entries;
                try (ResultSet e = s.executeQuery("SELECT coalesce(sum(amount_rials), 0)::bigint FROM entries")) {
                    e.next();
                    entries = e.getLong(1);
                }
                emit(new Finding(Kind.LEDGER_IMBALANCE, "ledger_imbalance", "ledger", null, null, Math.abs(balances),
                        "The account balances sum to " + Finding.rials(balances) + " instead of 0"
                                + (entries == 0 ? "; the entries sum to 0, so cached balances have drifted."
                                : "; the entries themselves sum to " + Finding.rials(entries) + "."),
                        entries == 0 ? new Plan.Recheck() : new Plan.Manual()));
            }
        }
    }

    private void accounts(Scope scope) throws SQLException {
        String active = "state = '" + Hold.State.HELD + "'";
        // All accounts: one pass over entries and holds, grouped. A few listed ones: each one's own rows by index.
        String sums = scope == Scope.ALL
                ? "LEFT JOIN (SELECT account_id, sum(amount_rials) AS total FROM entries GROUP BY account_id) e ON e.account_id = a.id "
                + "LEFT JOIN (SELECT account_id, sum(amount_rials) AS total FROM holds WHERE " + active + " GROUP BY account_id) h "
                + "ON h.account_id = a.id "
                : "LEFT JOIN LATERAL (SELECT sum(amount_rials) AS total FROM entries WHERE account_id = a.id) e ON true "
                + "LEFT JOIN LATERAL (SELECT sum(amount_rials) AS total FROM holds WHERE account_id = a.id AND " + active + ") h ON true ";
        String sql = "SELECT a.id, a.kind, a.balance_rials, a.held_rials, coalesce(e.total, 0)::bigint, coalesce(h.total, 0)::bigint "
                + "FROM accounts a " + sums
                + "WHERE " + scope.keeps("a.id", "chk_accounts")
                + " AND (a.balance_rials <> coalesce(e.total, 0) OR a.held_rials <> coalesce(h.total, 0)) ORDER BY a.id";
        stream(sql, List.of(), r -> {
            String id = r.getString(1);
            boolean wallet = r.getString(2).equals("passenger") || r.getString(2).equals("driver");
            long balance = r.getLong(3);
            long held = r.getLong(4);
            long entries = r.getLong(5);
            long holds = r.getLong(6);
            String story = (balance != entries ? "The account shows a balance of " + Finding.rials(balance)
                    + " but its ledger entries add up to " + Finding.rials(entries) + ". " : "")
                    + (held != holds ? "It shows " + Finding.rials(held) + " held but its active holds add up to "
                    + Finding.rials(holds) + "." : "");
            emit(new Finding(Kind.BALANCE_DRIFT, "balance_drift:" + id + ":" + balance + ":" + held, "ledger", null,
                    wallet ? id : null, Math.abs(balance - entries) + Math.abs(held - holds), story.trim(),
                    new Plan.RepairBalance(id)));
        });
    }

    private void holds() throws SQLException {
        String sql = "SELECT h.id, h.account_id, h.amount_rials, h.expires_at, t.trip_id FROM holds h "
                + "LEFT JOIN trips t ON t.hold_id = h.id "
                + "WHERE h.state = '" + Hold.State.HELD + "' AND h.expires_at < now() - ? * interval '1 second' ORDER BY h.id";
        stream(sql, List.of(rules.holdExpiryGraceSeconds()), r -> {
            String holdId = r.getString(1);
            String tripId = r.getString(5);
            emit(new Finding(Kind.HOLD_EXPIRED_NOT_VOIDED, "hold_expired_not_voided:" + holdId, tripId != null ? "trip" : "ledger",
                    tripId != null ? tripId : holdId, r.getString(2), r.getLong(3),
                    "A hold of " + Finding.rials(r.getLong(3)) + (tripId != null ? " for trip " + tripId : "")
                            + " expired at " + r.getObject(4, OffsetDateTime.class) + " but still blocks that money in the wallet.",
                    tripId != null ? new Plan.ExpireTrip(tripId)
                            // A payout's or a top-up refund's hold ends with its bank's answer: voided by a clock while
                            // the bank may still pay, the money would leave twice. Support asks the bank.
                            : holdId.startsWith("payout:") || holdId.startsWith("refund:") ? new Plan.Manual()
                            : new Plan.ExpireHold(holdId, r.getString(2))));
        });
    }

    /**
     * A trip's money by account against what it should be: settled, the passenger pays the fare,
     * the driver gets fare minus commission, the platform the commission, each less what the trip's
     * refunds gave back (its refunded total, the driver's part of it, the platform's the rest);
     * otherwise nothing moves.
     */
    private void trips(OffsetDateTime since, Scope scope) throws SQLException {
        String p = "coalesce(sum(e.amount_rials) FILTER (WHERE e.account_id = t.passenger_wallet_id), 0)";
        String d = "coalesce(sum(e.amount_rials) FILTER (WHERE e.account_id = t.driver_wallet_id), 0)";
        String c = "coalesce(sum(e.amount_rials) FILTER (WHERE e.account_id = '" + AccountKind.PLATFORM_COMMISSION_ID + "'), 0)";
        String settled = "t.state = '" + Trip.State.SETTLED + "'";
        // Net of refunds: the trip's refund transfers (kind trip_refund) are among the ones summed below.
        String fare = "CASE WHEN " + settled + " THEN t.fare_rials - t.refunded_rials ELSE 0 END";
        String commission = "CASE WHEN " + settled + " THEN t.commission_rials - (t.refunded_rials - t.refunded_driver_rials) ELSE 0 END";
        String sql = "SELECT t.trip_id, t.state, t.passenger_wallet_id, t.driver_wallet_id, " + fare + ", " + commission + ", "
                + p + ", " + d + ", " + c + " FROM trips t JOIN transfers tr ON tr.payment_id = t.trip_id "
                // Only the trip flow's transfers: a top-up may carry the same id (trip ids are the caller's).
                + "AND " + Finding.flowOfKind("tr.kind") + " = '" + Finding.TRIP + "' "
                + "JOIN entries e ON e.transfer_id = tr.id "
                + "WHERE t.updated_at < now() - ? * interval '1 second' AND t.created_at >= ? AND "
                + scope.keeps("t.trip_id", "chk_trips") + " GROUP BY t.trip_id "
                + "HAVING " + p + " <> -(" + fare + ") OR " + d + " <> " + fare + " - " + commission + " OR " + c + " <> " + commission
                + " ORDER BY t.trip_id";
        stream(sql, List.of(rules.minAgeSeconds(), since(since)), r -> {
            String trip = r.getString(1);
            String passenger = r.getString(3);
            String driver = r.getString(4);
            long fareRials = r.getLong(5);
            long commissionRials = r.getLong(6);
            long paid = -r.getLong(7);
            long driverGot = r.getLong(8);
            long platformGot = r.getLong(9);
            long driverShare = fareRials - commissionRials;
            Kind kind;
            String wallet;
            long amount;
            String story;
            if (paid > fareRials) {
                kind = Kind.DOUBLE_CHARGE;
                wallet = passenger;
                amount = paid - fareRials;
                story = "Trip " + trip + ": the passenger was charged " + Finding.rials(paid) + " for a fare of "
                        + Finding.rials(fareRials) + ", " + Finding.rials(amount) + " too much.";
            } else if (driverGot < driverShare) {
                kind = Kind.DRIVER_NOT_CREDITED;
                wallet = driver;
                amount = driverShare - driverGot;
                story = "Trip " + trip + ": the passenger paid " + Finding.rials(paid) + " but the driver was credited "
                        + Finding.rials(driverGot) + " of the " + Finding.rials(driverShare) + " owed.";
            } else if (platformGot < commissionRials) {
                kind = Kind.COMMISSION_MISSING;
                wallet = driver;
                amount = commissionRials - platformGot;
                story = "Trip " + trip + ": the platform's commission of " + Finding.rials(commissionRials)
                        + " was not taken; the driver was credited " + Finding.rials(driverGot) + " instead of "
                        + Finding.rials(driverShare) + ".";
            } else {
                kind = Kind.AMOUNT_MISMATCH;
                wallet = passenger;
                amount = Math.abs(paid - fareRials) + Math.abs(driverGot - driverShare) + Math.abs(platformGot - commissionRials);
                story = "Trip " + trip + " (" + r.getString(2) + "): the passenger paid " + Finding.rials(paid) + ", the driver got "
                        + Finding.rials(driverGot) + " and the platform " + Finding.rials(platformGot) + "; expected "
                        + Finding.rials(fareRials) + ", " + Finding.rials(driverShare) + " and " + Finding.rials(commissionRials) + ".";
            }
            Map<String, Long> legs = new LinkedHashMap<>();
            legs.put(passenger, paid - fareRials);
            if (driver != null) {
                legs.put(driver, driverShare - driverGot);
            }
            legs.put(AccountKind.PLATFORM_COMMISSION_ID, commissionRials - platformGot);
            emit(Finding.ofPayment(kind, Finding.TRIP, trip, wallet, amount, story, new Plan.Correction(balanced(legs), null)));
        });
    }

    /**
     * Each top-up's credited money (its wallet's entries over every transfer of the payment)
     * against what the bank says it was paid: the settlement row it matched; nothing, when its day
     * is in the report and no row matched; else the top-up's own state and the bank's list of paid
     * but unverified payments.
     */
    private void topups(OffsetDateTime since, Collection<String> paidUnverified, Scope scope) throws SQLException {
        String day = "(coalesce(t.verified_at, t.callback_at, t.requested_at, t.created_at) AT TIME ZONE 'UTC')::date";
        // Matching is one-to-one (match()), so a top-up has at most one settlement row: a join, not an aggregate.
        // A payment our own refund reversed (done, or under way: held or sent) is in the report as REVERSED, yet its
        // top-up was credited and paid at the bank; the money went back through the refund's own transfer (flow
        // refund), not by undoing the credit. Judged as settled, it is no finding: else a correction would debit the
        // wallet a second time.
        String reversedByRefund = "status = 'REVERSED' AND EXISTS (SELECT 1 FROM topup_refunds r WHERE r.topup_id = stl.topup_id "
                + "AND r.method = '" + Refund.Method.REVERSE + "' AND r.state <> '" + Refund.State.FAILED + "')";
        String sql = "WITH st AS (SELECT topup_id, CASE WHEN status = 'SETTLED' OR (" + reversedByRefund + ") THEN amount ELSE 0 END AS settled, "
                + "  file || ' line ' || line || ' (' || status || ')' AS rows, authority FROM stl WHERE topup_id IS NOT NULL), "
                + "cr AS (SELECT tr.payment_id, sum(e.amount_rials) AS credited, "
                + "  count(DISTINCT tr.id) FILTER (WHERE tr.kind = 'topup_credit') AS credits "
                + "  FROM topups t JOIN transfers tr ON tr.payment_id = t.topup_id "
                // Only the top-up flow's transfers: a trip may carry the same id (trip ids are the caller's).
                + "  AND " + Finding.flowOfKind("tr.kind") + " = '" + Finding.TOPUP + "' "
                + "  JOIN entries e ON e.transfer_id = tr.id AND e.account_id = t.wallet_id "
                + "  WHERE t.created_at >= ? AND " + scope.keeps("t.topup_id", "chk_topups") + " GROUP BY tr.payment_id) "
                + "SELECT t.topup_id, t.wallet_id, t.amount_rials, t.state, t.authority, t.created_at, " + day + ", "
                + "  st.topup_id IS NOT NULL, coalesce(st.settled, 0)::bigint, st.rows, coalesce(cr.credited, 0)::bigint, "
                + "  coalesce(cr.credits, 0), d.day IS NOT NULL, t.authority = ANY (?), st.authority "
                + "FROM topups t LEFT JOIN st ON st.topup_id = t.topup_id LEFT JOIN cr ON cr.payment_id = t.topup_id "
                + "LEFT JOIN stl_days d ON d.day = " + day + " "
                + "WHERE t.created_at >= ? AND " + scope.keeps("t.topup_id", "chk_topups")
                + " AND (t.updated_at < now() - ? * interval '1 second' OR st.topup_id IS NOT NULL) "
                // What judge() passes without a finding stays in the database: settled by the bank, credited exactly that.
                + "AND NOT (st.topup_id IS NOT NULL AND st.settled > 0 AND st.settled = coalesce(cr.credited, 0)) "
                + "ORDER BY t.topup_id";
        OffsetDateTime from = since(since);
        String[] unverified = paidUnverified.toArray(String[]::new);
        OffsetDateTime now = OffsetDateTime.now();
        stream(sql, List.of(from, db.createArrayOf("text", unverified), from, rules.minAgeSeconds()), r -> {
            TopupRow t = new TopupRow(r.getString(1), r.getString(2), r.getLong(3), Topup.State.valueOf(r.getString(4)), r.getString(5),
                    r.getObject(6, OffsetDateTime.class), r.getObject(7, LocalDate.class), r.getBoolean(8), r.getLong(9),
                    r.getString(10), r.getLong(11), r.getInt(12), r.getBoolean(13), r.getBoolean(14), r.getString(15));
            Finding finding = judge(t, now);
            if (finding != null) {
                emit(finding);
            }
        });
    }

    private record TopupRow(String id, String wallet, long amount, Topup.State state, String authority, OffsetDateTime createdAt,
                         LocalDate day, boolean matched, long settled, String rows, long credited, int credits,
                         boolean dayCovered, boolean unverified, String settledAuthority) {
        boolean open() {
            return !state.terminal();
        }

        /** Our flow closed it as not paid, yet the bank's report settled it: evidence the bank must confirm. */
        boolean settledAfterClosedUnpaid() {
            return matched && settled > 0 && state.terminal() && state != Topup.State.CREDITED;
        }
    }

    private Finding judge(TopupRow t, OffsetDateTime now) {
        Long expected;
        String evidence;
        if (t.matched()) {
            expected = t.settled();
            evidence = "the bank's settlement report (" + t.rows() + ")";
        } else if (t.dayCovered()) {
            expected = 0L;
            evidence = "the bank's settlement report of " + t.day() + ", which does not list it";
        } else if (t.state() == Topup.State.CREDITED || t.state() == Topup.State.VERIFIED) {
            expected = t.amount();
            evidence = t.state() == Topup.State.VERIFIED ? "the bank's verify" : "its CREDITED state";
        } else if (t.unverified()) {
            expected = t.amount();
            evidence = "the bank's list of paid but unverified payments";
        } else if (!t.open()) {
            expected = 0L;
            evidence = "its " + t.state() + " state";
        } else {
            expected = null;
            evidence = null;
        }
        String name = "Top-up " + t.id() + " of " + Finding.rials(t.amount()) + " (" + t.state() + ", " + t.createdAt().toLocalDate() + ")";
        boolean stuck = t.open() && t.createdAt().isBefore(now.minusSeconds(rules.stuckAfterSeconds()));
        if (expected == null || expected == t.credited()) {
            if (!stuck || (expected != null && expected > 0)) {
                return null;
            }
            boolean unknownToBank = expected != null;
            return Finding.ofPayment(Kind.STUCK_PAYMENT, Finding.TOPUP, t.id(), t.wallet(), t.amount(),
                    name + " has been " + t.state() + " since it was opened"
                            + (unknownToBank ? "; " + evidence + "." : "; the bank has not told us its outcome."),
                    unknownToBank ? new Plan.Expire(t.id()) : new Plan.Advance(t.id()));
        }
        long credited = t.credited();
        if (credited == 0 && expected == t.amount() && t.state() == Topup.State.CREDITED) {
            // Its state says a credit was made, yet no transfer names this payment: the old server
            // may have credited it under another payment id. Crediting again could pay twice.
            return Finding.ofPayment(Kind.PAID_NOT_CREDITED, Finding.TOPUP, t.id(), t.wallet(), t.amount(),
                    name + ": paid at the bank according to " + evidence + " and marked CREDITED, but no credit names this "
                            + "top-up in the ledger; check the wallet's history before crediting it by hand.",
                    new Plan.Manual());
        }
        if (credited == 0 && expected == t.amount()) {
            boolean inWindow = t.createdAt().isAfter(now.minusSeconds(pspWindowSeconds));
            boolean bankVerified = t.matched() || t.state() == Topup.State.VERIFIED;
            return Finding.ofPayment(Kind.PAID_NOT_CREDITED, Finding.TOPUP, t.id(), t.wallet(), t.amount(),
                    name + ": paid at the bank according to " + evidence + ", but the wallet was never credited.",
                    new Plan.Credit(t.id(), inWindow || !bankVerified, bankVerified, confirmAtBank(t)));
        }
        Kind kind;
        String story;
        if (expected == 0) {
            kind = Kind.CREDITED_NOT_PAID;
            story = name + ": the wallet was credited " + Finding.rials(credited) + " but the bank was not paid, according to "
                    + evidence + ".";
        } else if (credited > expected && t.credits() > 1) {
            kind = Kind.DOUBLE_CREDIT;
            story = name + ": the wallet was credited " + t.credits() + " times, " + Finding.rials(credited) + " in all, for one payment of "
                    + Finding.rials(expected) + ".";
        } else {
            kind = Kind.AMOUNT_MISMATCH;
            story = name + ": the bank settled " + Finding.rials(expected) + " according to " + evidence
                    + ", but the wallet was credited " + Finding.rials(credited) + ".";
        }
        Map<String, Long> legs = new LinkedHashMap<>();
        legs.put(t.wallet(), expected - credited);
        return Finding.ofPayment(kind, Finding.TOPUP, t.id(), t.wallet(), Math.abs(expected - credited),
                story, new Plan.Correction(balanced(legs), expected > credited ? confirmAtBank(t) : null));
    }

    /** A plan that credits a top-up our flow closed as not paid waits for the bank's inquiry of the settled payment. */
    private static String confirmAtBank(TopupRow t) {
        return t.settledAfterClosedUnpaid() ? t.settledAuthority() : null;
    }

    /**
     * Bank rows that matched no top-up. One that repeats a matched payment (same card, same
     * amount, within the drift) is the cardholder charged twice; any other is money at the bank
     * with no top-up of ours, for support to trace.
     */
    private void bankRows() throws SQLException {
        String sameTime = "CASE WHEN s.paid_at IS NULL OR m.paid_at IS NULL THEN m.day = s.day "
                + "ELSE abs(extract(epoch FROM m.paid_at - s.paid_at)) <= " + rules.timeDriftSeconds() + " END";
        String sql = "SELECT s.file, s.line, s.authority, s.amount, s.masked_card, s.paid_at, s.day, twin.topup_id, "
                + "twin.wallet_id, twin.authority FROM stl s LEFT JOIN LATERAL ("
                + "  SELECT m.topup_id, t.wallet_id, m.authority FROM stl m JOIN topups t ON t.topup_id = m.topup_id "
                + "  WHERE m.status = 'SETTLED' AND m.amount = s.amount AND m.masked_card = s.masked_card "
                + "  AND s.masked_card <> '' AND " + sameTime + " ORDER BY m.id LIMIT 1) twin ON true "
                + "WHERE s.topup_id IS NULL AND s.status = 'SETTLED' AND NOT EXISTS (SELECT 1 FROM reconciliation_actions a "
                // Refunded already, at the bank or in the wallet; a 'reversing' claim is still open (see Corrector).
                + "  WHERE a.finding_key = '" + Finding.key(Kind.DOUBLE_CHARGE, Finding.BANK, "") + "' || s.authority "
                + "  AND a.action IN ('psp_reverse', 'correction')) ORDER BY s.id";
        stream(sql, List.of(), r -> {
            String authority = r.getString(3);
            long amount = r.getLong(4);
            String where = r.getString(1) + " line " + r.getInt(2);
            String twin = r.getString(8);
            if (twin == null) {
                emit(Finding.ofPayment(Kind.PAID_NOT_CREDITED, Finding.BANK, authority, null, amount,
                        "The bank settled a payment of " + Finding.rials(amount) + " by card " + r.getString(5) + " on " + r.getObject(7, LocalDate.class)
                                + " (authority " + authority + ", " + where + ") that matches no top-up of ours.",
                        new Plan.Manual()));
                return;
            }
            String wallet = r.getString(9);
            Map<String, Long> legs = new LinkedHashMap<>();
            legs.put(wallet, amount);
            OffsetDateTime paidAt = r.getObject(6, OffsetDateTime.class);
            emit(Finding.ofPayment(Kind.DOUBLE_CHARGE, Finding.BANK, authority, wallet, amount,
                    "Top-up " + twin + ": the card " + r.getString(5) + " was charged twice, " + Finding.rials(amount)
                            + " again under authority " + authority + " (" + where + ") besides " + r.getString(10) + ".",
                    new Plan.Reverse(balanced(legs), authority, paidAt == null ? null : paidAt.toString())));
        });
    }

    /**
     * Payments the journal shows half-done past the stuck threshold, whose database state does
     * not show the step done either: the gateway's recovery finishes them at its next start.
     * Top-ups are judged from the database above; this covers trips and adjustments.
     */
    public void journal(Map<String, JournalScans.IncompleteEntry> incomplete) throws SQLException {
        OffsetDateTime before = OffsetDateTime.now().minusSeconds(rules.stuckAfterSeconds());
        try (PreparedStatement trip = db.prepareStatement("SELECT state FROM trips WHERE trip_id = ?")) {
            for (JournalScans.IncompleteEntry entry : incomplete.values()) {
                var last = entry.last();
                if (!last.flow().equals("trip") || !Instant.ofEpochMilli(last.timeMillis()).isBefore(before.toInstant())) {
                    continue;
                }
                trip.setString(1, last.paymentId());
                Trip.State state = null;
                try (ResultSet r = trip.executeQuery()) {
                    if (r.next()) {
                        state = Trip.State.valueOf(r.getString(1));
                    }
                }
                boolean done = state == Trip.State.SETTLED || state == Trip.State.VOIDED || state == Trip.State.EXPIRED
                        || (state == Trip.State.HELD && last.state().equals(Trip.Step.HOLDING.name()));
                if (done) {
                    continue;
                }
                emit(Finding.ofPayment(Kind.STUCK_PAYMENT, Finding.TRIP, last.paymentId(),
                        last.accounts().isEmpty() ? null : last.accounts().get(0), last.amountRials(),
                        "Trip " + last.paymentId() + ": the journal shows a " + last.state() + " step begun at "
                                + Instant.ofEpochMilli(last.timeMillis()) + " and never finished; the trip is "
                                + (state == null ? "not in the database" : state) + ". The gateway's recovery finishes it at its next start.",
                        new Plan.Manual()));
            }
        }
    }

    /** The non-zero legs, balanced by the corrections account. */
    private static Map<String, Long> balanced(Map<String, Long> legs) {
        Map<String, Long> balanced = new LinkedHashMap<>();
        long sum = 0;
        for (Map.Entry<String, Long> leg : legs.entrySet()) {
            if (leg.getValue() != 0) {
                balanced.put(leg.getKey(), leg.getValue());
                sum += leg.getValue();
            }
        }
        if (sum != 0) {
            balanced.put(AccountKind.CORRECTIONS_ID, -sum);
        }
        return balanced;
    }

    private static OffsetDateTime since(OffsetDateTime since) {
        return since != null ? since : OffsetDateTime.parse("1970-01-01T00:00:00Z");
    }

    private void emit(Finding finding) throws SQLException {
        counts.merge(finding.kind(), 1L, Long::sum);
        sink.accept(finding);
    }

    private interface RowHandler {
        void accept(ResultSet row) throws SQLException;
    }

    private void stream(String sql, List<Object> params, RowHandler handler) throws SQLException {
        try (PreparedStatement s = db.prepareStatement(sql)) {
            s.setFetchSize(FETCH);
            for (int i = 0; i < params.size(); i++) {
                s.setObject(i + 1, params.get(i));
            }
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    handler.accept(r);
                }
            }
        }
    }
}
