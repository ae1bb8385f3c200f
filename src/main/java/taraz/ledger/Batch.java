package taraz.ledger;

import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import taraz.domain.DomainError;
import taraz.domain.ErrorCode;

import java.time.OffsetDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The working state of one batch, inside its transaction: the locked accounts with their
 * balances as the commands so far left them, and the rows to write. Commands change it through
 * {@link #placeHold}, {@link #releaseHold} and {@link #post}, which check the ledger's rules
 * against these balances exactly as the database's constraints would; every change is undoable
 * to a {@link #mark}, so a refused command leaves no trace. The writes are set-based: one
 * statement per table whatever the batch size, each account's balance updated once.
 */
public final class Batch {

    private final Map<Class<?>, BatchPart> parts = new LinkedHashMap<>();
    private final Set<String> wantedAccounts = new LinkedHashSet<>();
    private final Map<String, Working> accounts = new HashMap<>();
    private final List<Hold> newHolds = new ArrayList<>();
    private final List<Hold> releasedHolds = new ArrayList<>();
    private final List<Transfer> transfers = new ArrayList<>();
    private final List<Long> entryBalances = new ArrayList<>();
    private final Deque<Runnable> undo = new ArrayDeque<>();
    private OffsetDateTime now;

    /** The transaction's time: what {@code now()} gives every row this batch writes. */
    public OffsetDateTime now() {
        return now;
    }

    /** The batch's part of the given type, made by {@code create} on first use. */
    public <P extends BatchPart> P part(Class<P> type, Supplier<P> create) {
        return type.cast(parts.computeIfAbsent(type, t -> create.get()));
    }

    /** Names accounts to lock and read before the commands run. */
    public void lockAccounts(List<String> accountIds) {
        wantedAccounts.addAll(accountIds);
    }

    // ---- reads of the locked state ---------------------------------------------------------

    /** The wallet's kind, or wallet_not_found when there is none (system accounts are not wallets). */
    public AccountKind walletKind(String walletId) {
        Working account = accounts.get(walletId);
        if (account == null || !account.kind.isWallet()) {
            throw DomainError.walletNotFound(walletId);
        }
        return account.kind;
    }

    /** The wallet, which must be of {@code kind}: wallet_not_found if there is none, wallet_kind_mismatch if it is of another kind. */
    public void requireWallet(String walletId, AccountKind kind) {
        AccountKind actual = walletKind(walletId);
        if (actual != kind) {
            throw new DomainError(ErrorCode.WALLET_KIND_MISMATCH, "wallet " + walletId + " is a " + actual.apiName()
                    + " wallet, not a " + kind.apiName() + " wallet");
        }
    }

    /** Balance and held amount of a locked account, as the batch has left them. */
    public long[] balanceAndHeld(String accountId) {
        Working account = locked(accountId);
        return new long[] {account.balance, account.held};
    }

    // ---- changes ---------------------------------------------------------------------------

    /** Reserves funds of an account: refused with insufficient_funds if its available balance is short. */
    public Hold placeHold(String holdId, String accountId, long amountRials, OffsetDateTime expiresAt) {
        Working account = locked(accountId);
        if (!account.allowOverdraft && account.balance - account.held - amountRials < 0) {
            throw DomainError.insufficientFunds(accountId);
        }
        Hold hold = new Hold(holdId, accountId, amountRials, Hold.State.HELD, expiresAt);
        account.held = Math.addExact(account.held, amountRials);
        newHolds.add(hold);
        undo.push(() -> {
            account.held -= amountRials;
            newHolds.remove(newHolds.size() - 1);
        });
        return hold;
    }

    /** Ends an active hold (its owner knows it is active: the flow's row says so, under its lock). */
    public void releaseHold(String holdId, String accountId, long amountRials, Hold.State endState) {
        if (endState == Hold.State.HELD) {
            throw new IllegalArgumentException("a hold is released to POSTED, VOIDED or EXPIRED");
        }
        Working account = locked(accountId);
        if (account.held - amountRials < 0) {
            throw new IllegalStateException("account " + accountId + " would hold " + (account.held - amountRials)
                    + " rials after releasing " + holdId);
        }
        account.held -= amountRials;
        releasedHolds.add(new Hold(holdId, accountId, amountRials, endState, null));
        undo.push(() -> {
            account.held += amountRials;
            releasedHolds.remove(releasedHolds.size() - 1);
        });
    }

    /**
     * Posts a transfer: every debit leg checked first (an account that may not go below its held
     * amount refuses with insufficient_funds; a credit is never refused, so a wallet below zero
     * can be paid), then applied in the transfer's leg order, each entry with the balance after it.
     */
    public void post(Transfer transfer) {
        post(transfer, null);
    }

    /**
     * Posts a transfer in which {@code debtorId}'s debit may take that account's available balance
     * below zero (a trip refund taken from a driver who has cashed out): the account's allowed debt
     * is raised to cover it, written with its balance. The other legs are checked as by {@link #post}.
     * Returns the shortfall, what the debtor's available balance did not cover (0 when it did).
     */
    public long postAllowingDebt(Transfer transfer, String debtorId) {
        Working debtor = locked(debtorId);
        long owedBefore = Math.max(0, debtor.held - debtor.balance);
        post(transfer, debtor);
        long owedAfter = Math.max(0, debtor.held - debtor.balance);
        long debtAllowedBefore = debtor.debtAllowed;
        if (!debtor.allowOverdraft && owedAfter > debtAllowedBefore) {
            debtor.debtAllowed = owedAfter;
            undo.push(() -> debtor.debtAllowed = debtAllowedBefore);
        }
        return owedAfter - owedBefore;
    }

    private void post(Transfer transfer, Working debtor) {
        List<Working> legAccounts = new ArrayList<>(transfer.legs().size());
        for (Leg leg : transfer.legs()) {
            Working account = accounts.get(leg.accountId());
            if (account == null) {
                if (wantedAccounts.contains(leg.accountId())) {
                    throw DomainError.walletNotFound(leg.accountId());
                }
                throw new IllegalStateException("account " + leg.accountId() + " was not locked for " + transfer.id());
            }
            if (leg.amountRials() < 0 && account != debtor && !account.allowOverdraft
                    && account.balance + leg.amountRials() - account.held < 0) {
                throw DomainError.insufficientFunds(leg.accountId());
            }
            legAccounts.add(account);
        }
        for (int i = 0; i < legAccounts.size(); i++) {
            Working account = legAccounts.get(i);
            account.balance = Math.addExact(account.balance, transfer.legs().get(i).amountRials());
            entryBalances.add(account.balance);
        }
        transfers.add(transfer);
        undo.push(() -> {
            for (int i = legAccounts.size() - 1; i >= 0; i--) {
                legAccounts.get(i).balance -= transfer.legs().get(i).amountRials();
                entryBalances.remove(entryBalances.size() - 1);
            }
            transfers.remove(transfers.size() - 1);
        });
    }

    /** Names a transfer that {@link #postOnce} may find posted already; call it from {@code prepare}. */
    public void wantTransfer(String transferId) {
        Transfers.of(this).want(transferId);
    }

    /**
     * Posts a transfer unless it exists (a step run again): NEW, or ALREADY_POSTED if the stored
     * transfer is this one (same kind, payment and legs). Anything else under its id is a
     * transfer_conflict, never a silent success. The id must have been named by {@link #wantTransfer}.
     */
    public Ledger.Posted postOnce(Transfer transfer) {
        Transfers transfers = Transfers.of(this);
        Transfers.Stored existing = transfers.get(transfer.id());
        if (existing == null) {
            post(transfer);
            transfers.posted(this, transfer);
            return Ledger.Posted.NEW;
        }
        if (existing.same(transfer)) {
            return Ledger.Posted.ALREADY_POSTED;
        }
        throw new DomainError(ErrorCode.TRANSFER_CONFLICT, "transfer " + transfer.id()
                + " was posted before with other accounts or amounts");
    }

    /** Registers an undo for a part's own change, so a refused command takes it back too. */
    public void onUndo(Runnable action) {
        undo.push(action);
    }

    /** A point to roll back to. */
    public int mark() {
        return undo.size();
    }

    /** Undoes every change since {@code mark}, newest first. */
    public void rollback(int mark) {
        while (undo.size() > mark) {
            undo.pop().run();
        }
    }

    // ---- the writer's side -----------------------------------------------------------------

    Iterable<BatchPart> parts() {
        return parts.values();
    }

    /** Every account the commands and the parts' rows need, in {@link Transfer#LOCK_ORDER}. */
    String[] accountsToLock() {
        Set<String> all = new LinkedHashSet<>(wantedAccounts);
        parts.values().forEach(part -> all.addAll(part.accounts()));
        return all.stream().sorted(Transfer.LOCK_ORDER).toArray(String[]::new);
    }

    void loaded(OffsetDateTime transactionTime, RowSet<Row> lockedAccounts) {
        this.now = transactionTime;
        for (Row row : lockedAccounts) {
            Working account = new Working(AccountKind.fromDb(row.getString("kind")), row.getBoolean("allow_overdraft"),
                    row.getLong("balance_rials"), row.getLong("held_rials"), row.getLong("debt_allowed_rials"));
            accounts.put(row.getString("id"), account);
        }
    }

    private Working locked(String accountId) {
        Working account = accounts.get(accountId);
        if (account == null) {
            if (wantedAccounts.contains(accountId)) {
                throw DomainError.walletNotFound(accountId);
            }
            throw new IllegalStateException("account " + accountId + " was not locked by this batch");
        }
        return account;
    }

    /** The ledger's writes, in an order that satisfies the foreign keys. */
    List<Future<?>> write(SqlConnection connection) {
        List<Future<?>> writes = new ArrayList<>();
        if (!newHolds.isEmpty()) {
            int n = newHolds.size();
            String[] ids = new String[n];
            String[] accountIds = new String[n];
            Long[] amounts = new Long[n];
            OffsetDateTime[] expiries = new OffsetDateTime[n];
            for (int i = 0; i < n; i++) {
                Hold hold = newHolds.get(i);
                ids[i] = hold.id();
                accountIds[i] = hold.accountId();
                amounts[i] = hold.amountRials();
                expiries[i] = hold.expiresAt();
            }
            writes.add(expect(connection.preparedQuery("INSERT INTO holds (id, account_id, amount_rials, state, expires_at) "
                            + "SELECT id, account_id, amount, '" + Hold.State.HELD + "', expires_at "
                            + "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[]) AS h(id, account_id, amount, expires_at)")
                    .execute(Tuple.of(ids, accountIds, amounts, expiries)), n, "holds placed"));
        }
        if (!releasedHolds.isEmpty()) {
            int n = releasedHolds.size();
            String[] ids = new String[n];
            String[] states = new String[n];
            for (int i = 0; i < n; i++) {
                ids[i] = releasedHolds.get(i).id();
                states[i] = releasedHolds.get(i).state().name();
            }
            writes.add(expect(connection.preparedQuery("UPDATE holds SET state = r.state, updated_at = now() "
                            + "FROM unnest($1::text[], $2::text[]) AS r(id, state) WHERE holds.id = r.id AND holds.state = '" + Hold.State.HELD + "'")
                    .execute(Tuple.of(ids, (Object) states)), n, "holds released"));
        }
        if (!transfers.isEmpty()) {
            int n = transfers.size();
            String[] ids = new String[n];
            String[] kinds = new String[n];
            String[] paymentIds = new String[n];
            Long[] amounts = new Long[n];
            String[] reasons = new String[n];
            List<String> entryTransfers = new ArrayList<>();
            List<String> entryAccounts = new ArrayList<>();
            List<Long> entryAmounts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Transfer transfer = transfers.get(i);
                ids[i] = transfer.id();
                kinds[i] = transfer.kind();
                paymentIds[i] = transfer.paymentId();
                amounts[i] = transfer.amountRials();
                reasons[i] = transfer.reason();
                for (Leg leg : transfer.legs()) {
                    entryTransfers.add(transfer.id());
                    entryAccounts.add(leg.accountId());
                    entryAmounts.add(leg.amountRials());
                }
            }
            Long[] after = entryBalances.toArray(Long[]::new);
            writes.add(expect(connection.preparedQuery("INSERT INTO transfers (id, kind, payment_id, amount_rials, reason) "
                            + "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])")
                    .execute(Tuple.of(ids, kinds, paymentIds, amounts, reasons)), n, "transfers"));
            // WITH ORDINALITY keeps the entries' ids in the order they were computed, balance-after included.
            writes.add(expect(connection.preparedQuery("INSERT INTO entries (transfer_id, account_id, amount_rials, balance_after_rials) "
                            + "SELECT t, a, m, b FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) "
                            + "WITH ORDINALITY AS e(t, a, m, b, n) ORDER BY n")
                    .execute(Tuple.of(entryTransfers.toArray(String[]::new), entryAccounts.toArray(String[]::new),
                            entryAmounts.toArray(Long[]::new), after)), after.length, "entries"));
        }
        List<String> changed = new ArrayList<>();
        List<Long> balanceDeltas = new ArrayList<>();
        List<Long> heldDeltas = new ArrayList<>();
        List<Long> debtsAllowed = new ArrayList<>();
        boolean debtRaised = false;
        for (Map.Entry<String, Working> e : accounts.entrySet().stream()
                .sorted(Map.Entry.comparingByKey(Transfer.LOCK_ORDER)).toList()) {
            Working account = e.getValue();
            if (account.balance != account.balance0 || account.held != account.held0 || account.debtAllowed != account.debtAllowed0) {
                changed.add(e.getKey());
                balanceDeltas.add(account.balance - account.balance0);
                heldDeltas.add(account.held - account.held0);
                debtsAllowed.add(account.debtAllowed);
                debtRaised |= account.debtAllowed != account.debtAllowed0;
            }
        }
        if (!changed.isEmpty() && !debtRaised) {
            // One row per account: the deltas are summed per account above, since UPDATE ... FROM
            // applies only one source row to each target row.
            writes.add(expect(connection.preparedQuery("UPDATE accounts SET balance_rials = balance_rials + d.balance, "
                            + "held_rials = held_rials + d.held FROM unnest($1::text[], $2::bigint[], $3::bigint[]) "
                            + "AS d(id, balance, held) WHERE accounts.id = d.id")
                    .execute(Tuple.of(changed.toArray(String[]::new), balanceDeltas.toArray(Long[]::new),
                            heldDeltas.toArray(Long[]::new))), changed.size(), "account balances"));
        } else if (!changed.isEmpty()) {
            // A batch that let an account go into debt (rare: a trip refund) writes the raised allowance in the
            // same statement as the balance, since the no_overdraft check judges each row as it is updated.
            writes.add(expect(connection.preparedQuery("UPDATE accounts SET balance_rials = balance_rials + d.balance, "
                            + "held_rials = held_rials + d.held, debt_allowed_rials = d.debt "
                            + "FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) "
                            + "AS d(id, balance, held, debt) WHERE accounts.id = d.id")
                    .execute(Tuple.of(changed.toArray(String[]::new), balanceDeltas.toArray(Long[]::new),
                            heldDeltas.toArray(Long[]::new), debtsAllowed.toArray(Long[]::new))), changed.size(),
                    "account balances and debts"));
        }
        return writes;
    }

    /** A statement that must touch exactly {@code rows} rows, or the batch is wrong and rolls back. */
    public static Future<?> expect(Future<RowSet<Row>> statement, int rows, String what) {
        return statement.map(result -> {
            if (result.rowCount() != rows) {
                throw new IllegalStateException(what + ": " + result.rowCount() + " rows written, " + rows + " expected");
            }
            return result;
        });
    }

    /** A locked account: its kind, and its balance, held amount and allowed debt as read and as the batch left them. */
    private static final class Working {
        final AccountKind kind;
        final boolean allowOverdraft;
        final long balance0;
        final long held0;
        final long debtAllowed0;
        long balance;
        long held;
        long debtAllowed;

        Working(AccountKind kind, boolean allowOverdraft, long balance, long held, long debtAllowed) {
            this.kind = kind;
            this.allowOverdraft = allowOverdraft;
            this.balance0 = balance;
            this.held0 = held;
            this.debtAllowed0 = debtAllowed;
            this.balance = balance;
            this.held = held;
            this.debtAllowed = debtAllowed;
        }
    }
}
