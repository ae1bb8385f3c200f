package taraz.ledger;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import taraz.domain.DomainError;
import taraz.domain.ErrorCode;

import java.util.ArrayList;
import java.util.List;

/**
 * The ledger's reads, its invariant check, wallet opening, and the two repairs reconciliation
 * makes in a transaction of its own (locking accounts, ending an orphaned hold). Money moves only
 * through the {@link BatchWriter}, whose {@link Batch} checks every rule against balances it holds
 * locked; the table's CHECK constraints stand behind it. Reads go through the pool it is given at
 * wiring; the repairs run in the caller's transaction.
 */
public final class Ledger {

    private final Pool pool;

    public Ledger(Pool pool) {
        this.pool = pool;
    }

    /** Outcome of posting a transfer ({@link Batch#postOnce}): written now, or it already existed. */
    public enum Posted { NEW, ALREADY_POSTED }

    /**
     * Locks accounts in {@link Transfer#LOCK_ORDER}, the order a transfer updates its legs. A
     * step that touches an account before posting (releasing a hold) calls this first, so that
     * it cannot take the locks in another order than a concurrent transfer and deadlock with it.
     * PostgreSQL locks the rows as the sorted result comes out. The lock is the one an UPDATE of
     * a balance takes (FOR NO KEY UPDATE), so it does not wait for the key-share locks that
     * foreign keys (a new trip naming this wallet) hold.
     */
    public Future<Void> lockAccounts(SqlConnection tx, List<String> accountIds) {
        String[] ordered = accountIds.stream().distinct().sorted(Transfer.LOCK_ORDER).toArray(String[]::new);
        return tx.preparedQuery("SELECT id FROM accounts WHERE id = ANY($1) ORDER BY array_position($1, id) "
                        + "FOR NO KEY UPDATE")
                .execute(Tuple.of(ordered))
                .mapEmpty();
    }

    /**
     * Ends an active hold: posted (a transfer takes its place), voided or expired. Returns the
     * hold as it was, or null if it was not active: ending twice releases once.
     */
    public Future<Hold> releaseHold(SqlConnection tx, String holdId, Hold.State endState) {
        if (endState == Hold.State.HELD) {
            throw new IllegalArgumentException("a hold is released to POSTED, VOIDED or EXPIRED");
        }
        return tx.preparedQuery("UPDATE holds SET state = $2, updated_at = now() WHERE id = $1 AND state = '" + Hold.State.HELD + "' "
                        + "RETURNING " + Hold.COLUMNS)
                .execute(Tuple.of(holdId, endState.name()))
                .compose(rows -> {
                    if (rows.rowCount() == 0) {
                        return Future.succeededFuture(null);
                    }
                    Hold hold = Hold.from(rows.iterator().next());
                    return tx.preparedQuery("UPDATE accounts SET held_rials = held_rials - $2 WHERE id = $1 "
                                    + "RETURNING held_rials")
                            .execute(Tuple.of(hold.accountId(), hold.amountRials()))
                            .map(updated -> {
                                long heldAfter = updated.iterator().next().getLong(0);
                                if (heldAfter < 0) {
                                    throw new IllegalStateException("account " + hold.accountId()
                                            + " holds " + heldAfter + " rials after releasing " + holdId);
                                }
                                return hold;
                            });
                });
    }

    /** The account, or null. */
    private Future<Account> account(String accountId) {
        return pool.preparedQuery("SELECT " + Account.COLUMNS + " FROM accounts WHERE id = $1")
                .execute(Tuple.of(accountId))
                .map(rows -> rows.rowCount() == 0 ? null : Account.from(rows.iterator().next()));
    }

    /** The wallet, or wallet_not_found when there is none (system accounts are not wallets). */
    public Future<Account> wallet(String walletId) {
        return account(walletId).compose(account -> account != null && account.isWallet()
                ? Future.succeededFuture(account)
                : Future.failedFuture(DomainError.walletNotFound(walletId)));
    }

    /**
     * The wallets of a customer, for support: by phone (matched after the schema's {@code phone_normalized}, so
     * {@code 0912...}, {@code +98912...} and {@code 0098912...} are one phone) or by owner id, whichever is not null;
     * by owner, then oldest first, at most {@code limit}.
     */
    public Future<List<Account>> customerWallets(String phone, String ownerId, int limit) {
        String where = phone != null ? "phone IS NOT NULL AND phone_normalized(phone) = phone_normalized($1)"
                : "owner_id IS NOT NULL AND owner_id = $1";
        return pool.preparedQuery("SELECT " + Account.COLUMNS + " FROM accounts WHERE " + where
                        + " AND kind IN ('" + AccountKind.PASSENGER.apiName() + "', '" + AccountKind.DRIVER.apiName() + "') "
                        + "ORDER BY owner_id, created_at, id LIMIT $2")
                .execute(Tuple.of(phone != null ? phone : ownerId, limit))
                .map(rows -> {
                    List<Account> wallets = new ArrayList<>();
                    rows.forEach(row -> wallets.add(Account.from(row)));
                    return wallets;
                });
    }

    /** Opens a wallet; {@code iban} (a driver's, for the daily payout batch) may be null. */
    public Future<Account> openWallet(String walletId, AccountKind kind, String ownerId, String phone, String name, String iban) {
        if (kind != AccountKind.PASSENGER && kind != AccountKind.DRIVER) {
            throw new IllegalArgumentException("a wallet is a passenger or driver account, not " + kind);
        }
        return pool.preparedQuery("INSERT INTO accounts (id, kind, owner_id, phone, name, iban) VALUES ($1, $2, $3, $4, $5, $6) "
                        + "ON CONFLICT DO NOTHING RETURNING " + Account.COLUMNS)
                .execute(Tuple.of(walletId, kind.apiName(), ownerId, phone, name, iban))
                .compose(rows -> rows.rowCount() == 1 ? Future.succeededFuture(Account.from(rows.iterator().next()))
                        : pool.preparedQuery("SELECT id FROM accounts WHERE kind = $1 AND owner_id = $2")
                        .execute(Tuple.of(kind.apiName(), ownerId))
                        .compose(existing -> Future.failedFuture(new DomainError(ErrorCode.WALLET_ALREADY_EXISTS,
                                "owner " + ownerId + " already has a " + kind.apiName() + " wallet"
                                        + (existing.rowCount() == 1 ? ": " + existing.iterator().next().getString(0) : "")))));
    }

    /** Active holds of an account, oldest first, at most {@code limit}. */
    public Future<List<Hold>> activeHolds(String accountId, int limit) {
        return pool.preparedQuery("SELECT " + Hold.COLUMNS + " FROM holds WHERE account_id = $1 AND state = '" + Hold.State.HELD + "' "
                        + "ORDER BY created_at LIMIT $2")
                .execute(Tuple.of(accountId, limit))
                .map(rows -> {
                    List<Hold> holds = new ArrayList<>();
                    rows.forEach(row -> holds.add(Hold.from(row)));
                    return holds;
                });
    }

    /** Entries of an account, newest first, strictly older than {@code beforeEntryId} when given. */
    public Future<List<Entry>> entries(String accountId, Long beforeEntryId, int limit) {
        return pool.preparedQuery("SELECT e.id, e.transfer_id, e.account_id, e.amount_rials, e.balance_after_rials, "
                        + "e.created_at, t.kind, t.payment_id, t.reason FROM entries e JOIN transfers t ON t.id = e.transfer_id "
                        + "WHERE e.account_id = $1 AND ($2::bigint IS NULL OR e.id < $2) ORDER BY e.id DESC LIMIT $3")
                .execute(Tuple.of(accountId, beforeEntryId, limit))
                .map(Ledger::toEntries);
    }

    /** Entries of one transfer. */
    public Future<List<Entry>> transferEntries(String transferId) {
        return pool.preparedQuery("SELECT e.id, e.transfer_id, e.account_id, e.amount_rials, e.balance_after_rials, "
                        + "e.created_at, t.kind, t.payment_id, t.reason FROM entries e JOIN transfers t ON t.id = e.transfer_id "
                        + "WHERE e.transfer_id = $1 ORDER BY e.id")
                .execute(Tuple.of(transferId))
                .map(Ledger::toEntries);
    }

    private static List<Entry> toEntries(RowSet<Row> rows) {
        List<Entry> entries = new ArrayList<>(rows.rowCount());
        rows.forEach(row -> entries.add(Entry.from(row)));
        return entries;
    }

    /**
     * The ledger's invariants over the whole database: the sum of balances, the accounts whose
     * cached balance or held amount differs from their entries and holds, and those overdrawn (a
     * driver below zero within the debt a trip refund allowed it is not). Cheap enough
     * for tests and periodic checks; a later reconciliation job reuses it.
     */
    public Future<Invariants> checkInvariants() {
        return pool.query("SELECT (SELECT coalesce(sum(balance_rials), 0) FROM accounts) AS total, "
                        + "(SELECT count(*) FROM accounts a WHERE a.balance_rials <> "
                        + "   coalesce((SELECT sum(e.amount_rials) FROM entries e WHERE e.account_id = a.id), 0)) AS drifted, "
                        + "(SELECT count(*) FROM accounts a WHERE a.held_rials <> "
                        + "   coalesce((SELECT sum(h.amount_rials) FROM holds h WHERE h.account_id = a.id AND h.state = '" + Hold.State.HELD + "'), 0)) AS held_drifted, "
                        + "(SELECT count(*) FROM accounts a WHERE NOT a.allow_overdraft "
                        + "   AND a.balance_rials - a.held_rials < -a.debt_allowed_rials) AS overdrawn")
                .execute()
                .map(rows -> {
                    Row row = rows.iterator().next();
                    return new Invariants(row.getNumeric("total").bigDecimalValue().longValueExact(), row.getLong("drifted"),
                            row.getLong("held_drifted"), row.getLong("overdrawn"));
                });
    }

    /** The result of {@link #checkInvariants}; {@link #holds()} when the ledger adds up. */
    public record Invariants(long sumOfBalancesRials, long balanceDriftAccounts, long heldDriftAccounts,
                             long overdrawnAccounts) {
        public boolean holds() {
            return sumOfBalancesRials == 0 && balanceDriftAccounts == 0 && heldDriftAccounts == 0
                    && overdrawnAccounts == 0;
        }
    }
}
