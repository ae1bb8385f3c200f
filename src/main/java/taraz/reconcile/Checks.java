package taraz.reconcile;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.db.Database;
import taraz.ledger.Hold;
import taraz.ops.Metrics;
import taraz.reconcile.Finding.Kind;
import taraz.topup.Topup;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The gateway's checks behind the monitoring gauges, run by one node of all the replicas on one database, often
 * and cheaply.
 *
 * <p><b>One node.</b> The node that holds a PostgreSQL session advisory lock on a connection of its own runs the
 * rounds; the others try the lock each round and export nothing. When the leader dies its session ends, the lock is
 * free, and another node takes it at its next round.
 *
 * <p><b>Full, rarely.</b> A leader's first round, and one every {@code reconcileIntervalMillis}, is the full scan:
 * {@link Detector} over every account and every payment of the lookback, the judge of record. It also sets where the
 * fast rounds start.
 *
 * <p><b>Fast, often.</b> The other rounds judge, with the same {@link Detector} code, only what changed since the
 * last round, at most {@code checkBatchMax} rows of each source (a backlog is worked off over rounds): the payments
 * and accounts of ledger entries past the last entry seen; the trips and top-ups whose {@code updated_at} passed the
 * mark, which lags {@code minAgeSeconds} behind now as the detector's own in-flight rule does; every open top-up
 * (a VERIFIED one not credited, a stuck one); and every finding still open, so a fixed one clears. An account is
 * summed (its entries read) only when it is suspect: a new entry's {@code balance_after_rials} does not follow its
 * previous entry's, its balance is not its last entry's, or its held amount is not its active holds'; when the
 * balances do not add up, every account's balance is compared with its last entry's. The ledger's sum, the expired
 * holds (an index of active holds by expiry) and the stuck payments are read whole each round: each is one row per
 * account or a short index range.
 *
 * <p>What a fast round cannot see, the full scan finds: an old entry edited in place, an entry whose transaction
 * committed after a later one was read, a payment's state edited without its {@code updated_at}, a held amount or
 * balances that still add up edited on accounts nothing else touched. While a full scan runs (minutes on a ledger of
 * millions, bench/README.md) no fast round does: they share one thread.
 *
 * <p>A round changes nothing: its transaction only fills temporary tables and is rolled back, and a statement
 * timeout bounds it.
 */
public final class Checks {

    private static final Logger LOG = LoggerFactory.getLogger(Checks.class);

    /** The advisory lock's key: "taraz" and the issue that asked for one checker. */
    static final long LOCK_KEY = 0x7461_7261_7a00_0013L;
    private static final int LOCK_CHECK_SECONDS = 5;

    /** How the checks are run; see {@code conf/taraz.json}. */
    public record Bounds(long fullIntervalMillis, long lookbackHours, long timeoutMillis, int batchMax) {}

    /** What a round was: none (another node leads), a fast round, or the full scan. */
    public enum Outcome { FOLLOWER, FAST, FULL }

    private final String pgUrl;
    private final Rules rules;
    private final long pspWindowSeconds;
    private final Bounds bounds;
    private final Metrics metrics;
    private final List<Supplier<Future<Metrics.Stuck>>> stuckByFlow;
    /**
     * One thread of its own: a full scan of a large ledger takes minutes, which would hold one of the shared worker
     * threads and have Vert.x report it blocked every second after a minute. Only a round longer than the full scan's
     * interval is reported.
     */
    private final WorkerExecutor worker;
    private final Vertx vertx;

    /** The connection whose session holds the lock while this node leads; null when it does not. */
    private volatile Connection session;
    private Marks marks;
    private long fullAtMillis;
    private Map<String, Finding> open = Map.of();

    /** Where the fast rounds continue: the last entry seen, and the last trip and top-up by (updated_at, id). */
    private record Marks(long entryId, Mark trip, Mark topup) {}

    private record Mark(OffsetDateTime at, String id) {}

    public Checks(Vertx vertx, String pgUrl, Rules rules, long pspWindowSeconds, Bounds bounds, Metrics metrics,
                  List<Supplier<Future<Metrics.Stuck>>> stuckByFlow) {
        this.pgUrl = pgUrl;
        this.rules = rules;
        this.pspWindowSeconds = pspWindowSeconds;
        this.bounds = bounds;
        this.metrics = metrics;
        this.stuckByFlow = stuckByFlow;
        this.vertx = vertx;
        this.worker = vertx.createSharedWorkerExecutor("taraz-checks", 1, bounds.fullIntervalMillis(), TimeUnit.MILLISECONDS);
    }

    /** One round on a worker thread; a leader's round ends with its gauges published. */
    public Future<Outcome> round() {
        return worker.executeBlocking(this::roundBlocking, false).compose(round -> {
            if (round == null) {
                metrics.notChecking();
                return Future.succeededFuture(Outcome.FOLLOWER);
            }
            List<Future<Metrics.Stuck>> counts = stuckByFlow.stream().map(Supplier::get).toList();
            return Future.all(counts).map(all -> {
                Metrics.Stuck stuck = Metrics.Stuck.NONE;
                for (Future<Metrics.Stuck> count : counts) {
                    stuck = stuck.plus(count.result());
                }
                metrics.checked(round.imbalanceRials(), stuck, round.counts(), round.outcome() == Outcome.FULL);
                long total = round.counts().values().stream().mapToLong(Long::longValue).sum();
                if (total > 0) {
                    LOG.warn("checks ({}): {} open discrepancies: {}; run taraz reconcile for details",
                            round.outcome(), total, round.counts());
                }
                return round.outcome();
            });
        });
    }

    /**
     * Gives the lock up at once, so another node takes the checks over at its next round: the session is closed
     * without waiting for a round that is running (a full scan may take minutes, and a stopping node must not wait for
     * it); that round ends on a connection of its own, and the next one finds the session gone.
     */
    public Future<Void> close() {
        return vertx.executeBlocking(() -> {
            Connection leading = session;
            if (leading != null) {
                leading.close();
            }
            return null;
        }, false);
    }

    private record Round(Outcome outcome, long imbalanceRials, Map<String, Long> counts) {}

    private synchronized Round roundBlocking() throws Exception {
        if (!lead()) {
            return null;
        }
        try {
            boolean full = marks == null || System.currentTimeMillis() - fullAtMillis >= bounds.fullIntervalMillis();
            return full ? full() : fast();
        } catch (SQLException e) {
            if (!session.isValid(LOCK_CHECK_SECONDS)) {
                lose();
            }
            throw e;
        }
    }

    /** Whether this node leads: it holds the lock on a live session, or has just taken it. */
    private boolean lead() throws SQLException {
        if (session != null) {
            if (session.isValid(LOCK_CHECK_SECONDS)) {
                return true;
            }
            LOG.warn("checks: the session holding the lock is gone; trying to take the checks again");
            lose();
        }
        Connection connection = connect();
        try (Statement s = connection.createStatement(); ResultSet r = s.executeQuery("SELECT pg_try_advisory_lock(" + LOCK_KEY + ")")) {
            r.next();
            if (r.getBoolean(1)) {
                session = connection;
                LOG.info("checks: this node runs them now");
                return true;
            }
        }
        connection.close();
        return false;
    }

    private void lose() {
        if (session != null) {
            try {
                session.close();
            } catch (SQLException e) {
                LOG.debug("closing the checks' session", e);
            }
        }
        session = null;
        marks = null;
        open = Map.of();
    }

    private Connection connect() throws SQLException {
        Database.Jdbc jdbc = Database.jdbc(pgUrl);
        return DriverManager.getConnection(jdbc.url(), jdbc.user(), jdbc.password());
    }

    private Round full() throws SQLException {
        long started = System.currentTimeMillis();
        try (Connection db = snapshot()) {
            // The marks first, in the snapshot the detector then reads: the fast rounds continue after what it judged.
            Marks start;
            try (Statement s = db.createStatement();
                 ResultSet r = s.executeQuery("SELECT (SELECT coalesce(max(id), 0) FROM entries), now() - "
                         + rules.minAgeSeconds() + " * interval '1 second'")) {
                r.next();
                Mark cut = new Mark(r.getObject(2, OffsetDateTime.class), "");
                start = new Marks(r.getLong(1), cut, cut);
            }
            Map<String, Finding> found = detect(db, Detector.Scope.ALL);
            long imbalance = imbalance(db);
            db.rollback();
            marks = start;
            fullAtMillis = started;
            open = found;
            return new Round(Outcome.FULL, imbalance, counts(found.values()));
        }
    }

    private Round fast() throws SQLException {
        try (Connection db = snapshot()) {
            Set<String> accounts = new LinkedHashSet<>();
            Set<String> trips = new LinkedHashSet<>();
            Set<String> topups = new LinkedHashSet<>();
            Set<String> suspects = new LinkedHashSet<>();
            long entryId = newEntries(db, accounts, trips, topups, suspects);
            OffsetDateTime cut;
            try (Statement s = db.createStatement();
                 ResultSet r = s.executeQuery("SELECT now() - " + rules.minAgeSeconds() + " * interval '1 second'")) {
                r.next();
                cut = r.getObject(1, OffsetDateTime.class);
            }
            Mark trip = changed(db, "SELECT trip_id, updated_at, passenger_wallet_id FROM trips", "trip_id", marks.trip(), cut,
                    row -> {
                        trips.add(row.getString(1));
                        accounts.add(row.getString(3));
                    });
            Mark topup = changed(db, "SELECT topup_id, updated_at FROM topups", "topup_id", marks.topup(), cut,
                    row -> topups.add(row.getString(1)));
            openTopups(db, cut, topups);
            long imbalance = imbalance(db);
            suspects.addAll(suspectAccounts(db, accounts));
            if (imbalance != 0) {
                suspects.addAll(staleBalances(db));
            }
            for (Finding finding : open.values()) {
                switch (finding.kind()) {
                    case BALANCE_DRIFT -> suspects.add(driftedAccount(finding));
                    case LEDGER_IMBALANCE, HOLD_EXPIRED_NOT_VOIDED -> { }
                    default -> (Finding.TRIP.equals(finding.flow()) ? trips : topups).add(finding.paymentId());
                }
            }
            list(db, "chk_accounts", suspects);
            list(db, "chk_trips", trips);
            list(db, "chk_topups", topups);
            Map<String, Finding> found = detect(db, Detector.Scope.LISTED);
            db.rollback();
            marks = new Marks(entryId, trip, topup);
            open = found;
            return new Round(Outcome.FAST, imbalance, counts(found.values()));
        }
    }

    /** The account of a balance_drift finding, from its key {@code balance_drift:<account>:<balance>:<held>}. */
    private static String driftedAccount(Finding finding) {
        String key = finding.key();
        int held = key.lastIndexOf(':');
        return key.substring(Kind.BALANCE_DRIFT.apiName().length() + 1, key.lastIndexOf(':', held - 1));
    }

    /** A connection in a REPEATABLE READ transaction bounded by the statement timeout, as the detector needs. */
    private Connection snapshot() throws SQLException {
        Connection db = connect();
        try {
            db.setAutoCommit(false);
            db.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement s = db.createStatement()) {
                s.execute("SET LOCAL statement_timeout = " + bounds.timeoutMillis());
            }
            return db;
        } catch (SQLException e) {
            db.close();
            throw e;
        }
    }

    private Map<String, Finding> detect(Connection db, Detector.Scope scope) throws SQLException {
        Map<String, Finding> found = new LinkedHashMap<>();
        Detector detector = new Detector(db, rules, pspWindowSeconds, finding -> found.put(finding.key(), finding));
        detector.detect(OffsetDateTime.now().minusHours(bounds.lookbackHours()), List.of(), scope);
        return found;
    }

    /** Every kind, 0 when none is open. */
    private static Map<String, Long> counts(Collection<Finding> findings) {
        Map<Kind, Long> byKind = findings.stream().collect(Collectors.groupingBy(Finding::kind, Collectors.counting()));
        Map<String, Long> counts = new LinkedHashMap<>();
        for (Kind kind : Kind.values()) {
            counts.put(kind.apiName(), byKind.getOrDefault(kind, 0L));
        }
        return counts;
    }

    private static long imbalance(Connection db) throws SQLException {
        try (Statement s = db.createStatement();
             ResultSet r = s.executeQuery("SELECT coalesce(sum(balance_rials), 0)::bigint FROM accounts")) {
            r.next();
            return r.getLong(1);
        }
    }

    /**
     * The entries after the mark, at most a batch: their accounts, their payments by flow, and the accounts whose
     * entry does not follow the one before it. Returns the new mark.
     */
    private long newEntries(Connection db, Set<String> accounts, Set<String> trips, Set<String> topups,
                            Set<String> suspects) throws SQLException {
        String sql = "SELECT e.id, e.account_id, e.amount_rials, e.balance_after_rials, t.payment_id, "
                + Finding.flowOfKind("t.kind") + ", "
                + "coalesce((SELECT p.balance_after_rials FROM entries p WHERE p.account_id = e.account_id AND p.id < e.id "
                + "  ORDER BY p.id DESC LIMIT 1), 0) "
                + "FROM entries e JOIN transfers t ON t.id = e.transfer_id WHERE e.id > ? ORDER BY e.id LIMIT ?";
        long last = marks.entryId();
        try (PreparedStatement s = db.prepareStatement(sql)) {
            s.setLong(1, last);
            s.setInt(2, bounds.batchMax());
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    last = r.getLong(1);
                    String account = r.getString(2);
                    accounts.add(account);
                    if (r.getLong(4) != r.getLong(7) + r.getLong(3)) {
                        suspects.add(account);
                    }
                    String payment = r.getString(5);
                    if (payment != null) {
                        switch (r.getString(6)) {
                            case Finding.TRIP -> trips.add(payment);
                            case Finding.TOPUP -> topups.add(payment);
                            default -> { }
                        }
                    }
                }
            }
        }
        return last;
    }

    private interface RowHandler {
        void accept(ResultSet row) throws SQLException;
    }

    /** The rows of {@code select} past the mark up to the cut, in (updated_at, id) order, at most a batch; the new mark. */
    private Mark changed(Connection db, String select, String idColumn, Mark mark, OffsetDateTime cut, RowHandler handler)
            throws SQLException {
        String sql = select + " WHERE (updated_at, " + idColumn + ") > (?, ?) AND updated_at <= ? "
                + "ORDER BY updated_at, " + idColumn + " LIMIT ?";
        Mark last = mark;
        try (PreparedStatement s = db.prepareStatement(sql)) {
            s.setObject(1, mark.at());
            s.setString(2, mark.id());
            s.setObject(3, cut);
            s.setInt(4, bounds.batchMax());
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    handler.accept(r);
                    last = new Mark(r.getObject(2, OffsetDateTime.class), r.getString(1));
                }
            }
        }
        return last;
    }

    /** Open top-ups old enough to judge, the least recently changed first: a verified one not credited, a stuck one. */
    private void openTopups(Connection db, OffsetDateTime cut, Set<String> topups) throws SQLException {
        String[] open = Arrays.stream(Topup.State.values()).filter(state -> !state.terminal()).map(Enum::name)
                .toArray(String[]::new);
        try (PreparedStatement s = db.prepareStatement("SELECT topup_id FROM topups WHERE state = ANY (?) AND updated_at <= ? "
                + "ORDER BY updated_at LIMIT ?")) {
            s.setArray(1, db.createArrayOf("text", open));
            s.setObject(2, cut);
            s.setInt(3, bounds.batchMax());
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    topups.add(r.getString(1));
                }
            }
        }
    }

    /** Of the given accounts, those whose balance is not their last entry's, or whose held amount is not their active holds'. */
    private static List<String> suspectAccounts(Connection db, Set<String> accounts) throws SQLException {
        String sql = "SELECT a.id FROM accounts a WHERE a.id = ANY (?) AND (a.balance_rials <> " + lastBalance()
                + " OR a.held_rials <> coalesce((SELECT sum(h.amount_rials) FROM holds h WHERE h.account_id = a.id "
                + "AND h.state = '" + Hold.State.HELD + "'), 0))";
        try (PreparedStatement s = db.prepareStatement(sql)) {
            s.setArray(1, db.createArrayOf("text", accounts.toArray()));
            return ids(s);
        }
    }

    /** Accounts whose balance is not their last entry's: looked for when the balances do not add up; a batch at most. */
    private List<String> staleBalances(Connection db) throws SQLException {
        try (PreparedStatement s = db.prepareStatement("SELECT a.id FROM accounts a WHERE a.balance_rials <> "
                + lastBalance() + " ORDER BY a.id LIMIT ?")) {
            s.setInt(1, bounds.batchMax());
            return ids(s);
        }
    }

    /** An account's balance after its last entry, by the index on (account_id, id DESC). */
    private static String lastBalance() {
        return "coalesce((SELECT e.balance_after_rials FROM entries e WHERE e.account_id = a.id ORDER BY e.id DESC LIMIT 1), 0)";
    }

    private static List<String> ids(PreparedStatement s) throws SQLException {
        List<String> ids = new ArrayList<>();
        try (ResultSet r = s.executeQuery()) {
            while (r.next()) {
                ids.add(r.getString(1));
            }
        }
        return ids;
    }

    /** The temporary table the detector's {@link Detector.Scope#LISTED} reads; gone with the rolled-back transaction. */
    private static void list(Connection db, String table, Set<String> ids) throws SQLException {
        try (Statement s = db.createStatement()) {
            s.execute("CREATE TEMP TABLE " + table + " (id text PRIMARY KEY)");
        }
        try (PreparedStatement s = db.prepareStatement("INSERT INTO " + table + " SELECT unnest(?::text[])")) {
            s.setArray(1, db.createArrayOf("text", ids.toArray()));
            s.executeUpdate();
        }
        try (Statement s = db.createStatement()) {
            s.execute("ANALYZE " + table);
        }
    }
}
