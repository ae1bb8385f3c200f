package taraz.topup;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.async.Lanes;
import taraz.domain.DomainError;
import taraz.domain.ErrorCode;
import taraz.failpoint.Failpoints;
import taraz.journal.Inflight;
import taraz.journal.Journal;
import taraz.journal.JournalRecord;
import taraz.ledger.AccountKind;
import taraz.ledger.BatchWriter;
import taraz.ledger.LedgerCommand;
import taraz.ops.LogContext;
import taraz.ops.Metrics;
import taraz.psp.Psp;
import taraz.topup.Refund.Method;
import taraz.topup.Refund.State;
import taraz.topup.RefundCommands.Ask;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Refunds of credited top-ups to the card they came from (support's admin route). The whole flow, every state and
 * transition:
 *
 * <pre>
 *   CREATED (journal only) --hold, under the top-up's lock--> HELD (the wallet's money held; the row written)
 *   CREATED --top-up unknown / not CREDITED / refunds would exceed it / wallet short--> refused: no row, nothing held
 *   HELD --send (the row first, then the bank)--> SENT
 *   SENT by REVERSE --reverse.json 100--> REFUNDED (the hold posted: wallet to PSP clearing, keyed by the refund)
 *   SENT by REVERSE --reverse refused (the window closed at the bank)--> SENT by REFUND, sent to the refund API
 *   SENT by REFUND --AddRefund made--> REFUNDED
 *   SENT by REFUND --AddRefund refused--> FAILED (the hold voided: the money is back in the wallet)
 *   SENT --no answer (timeout, 5xx, lost answer)--> lookup: the bank has it --> REFUNDED; it has not --> SENT, sent
 *          again by the sweeper's next round; no lookup answer --> SENT, looked up again by the sweeper
 *   SENT (resumed: recovery, the sweeper) --lookup first, as above
 * </pre>
 *
 * <p><b>At most once at the bank.</b> Our refund id travels to the bank (in the refund's description, and a reverse
 * can happen only once to a payment), and the row is SENT before any call: a SENT refund whose answer we do not have
 * is never sent again blindly. Its fate is learned by lookup (the refund API: our description among the payment's
 * refunds; a reverse: inquiry says REVERSED); only a lookup that shows the bank does not have it lets it be sent
 * again, at most once per run. The method is fixed by the hold from the locked rows: a full refund of a top-up with
 * no refund before, inside the bank's window ({@code pspWindowSeconds} from the top-up's verification), is a reverse;
 * anything else uses the refund API.
 *
 * <p><b>Never more than the top-up.</b> The hold is a command of the ledger writer that locks the top-up row and
 * every refund of it, and sums the refunds not FAILED, so refunds racing on any node cannot together exceed it.
 *
 * <p>Every transition is journaled as an intent (PENDING) before it takes effect and again when it has; recovery
 * resumes a refund from its stored state (or holds it again from the journal when the hold never committed), and the
 * sweeper drives open refunds under leases, through the same {@link #advance}.
 */
public final class RefundService {

    public static final String FLOW = "refund";
    private static final Logger LOG = LoggerFactory.getLogger(RefundService.class);
    private static final int HISTORY_MAX = 100;

    private final RefundStore store;
    private final BatchWriter writer;
    private final Journal journal;
    private final Failpoints failpoints;
    private final String node;
    private final Psp psp;
    private final long pspWindowSeconds;
    private final Inflight inflight;
    private final Metrics metrics;
    /** Refunds being driven by this node: concurrent callers of one refund share one run. */
    private final Map<String, Future<Refund>> running = new ConcurrentHashMap<>();

    public RefundService(Pool pool, BatchWriter writer, Journal journal, Failpoints failpoints, String node, Psp psp,
                         long pspWindowSeconds, long leaseMillis, Inflight inflight, Metrics metrics) {
        this.store = new RefundStore(pool, node, leaseMillis);
        this.writer = writer;
        this.journal = journal;
        this.failpoints = failpoints;
        this.node = node;
        this.psp = psp;
        this.pspWindowSeconds = pspWindowSeconds;
        this.inflight = inflight;
        this.metrics = metrics;
    }

    // ---- the request -----------------------------------------------------------------------

    /**
     * Refunds {@code amountRials} of a top-up: the hold, then the bank, as far as it goes now. {@code refundId} comes
     * from the request's idempotency key, so a retry of a request that died half-way continues the same refund. A
     * top-up that is unknown or not CREDITED, or already refunded up to its amount, is refused before anything is
     * written (and again under the lock, where it counts).
     */
    public Future<Refund> create(String refundId, String topupId, long amountRials, String reason, String ticket) {
        return store.load(refundId).compose(existing -> {
            if (existing != null) {
                return advance(refundId, 1);
            }
            return store.topup(topupId).compose(topup -> {
                if (topup == null) {
                    return Future.failedFuture(new DomainError(ErrorCode.TOPUP_NOT_FOUND, "no top-up " + topupId));
                }
                if (topup.state() != Topup.State.CREDITED) {
                    return Future.failedFuture(RefundCommands.notRefundable(topupId, topup.state()));
                }
                if (amountRials > topup.amountRials()) {
                    return Future.failedFuture(RefundCommands.exceeds(topupId, topup.amountRials(), 0, amountRials));
                }
                return hold(new Ask(refundId, topupId, amountRials, reason, ticket), topup.walletId(), 1);
            });
        });
    }

    /** The hold phase, journaled: refused, it is journaled FAILED and its refusal returned; held, the bank follows. */
    private Future<Refund> hold(Ask ask, String walletId, int attempt) {
        JournalRecord intent = JournalRecord.of(node, FLOW, ask.refundId(), State.CREATED.name(), JournalRecord.Status.PENDING,
                attempt, ask.amountRials(), List.of(walletId, AccountKind.PSP_CLEARING_ID), null, data(ask, walletId).encode());
        long step = inflight.begin(intent.interrupted(Inflight.INTERRUPTED));
        return writer.submit(new RefundCommands.Hold(ask, pspWindowSeconds, node, store.leaseMillis()), journal.append(intent))
                .compose(outcome -> outcome.failure() == null ? Future.succeededFuture(outcome.value())
                        : journal.append(JournalRecord.of(node, FLOW, ask.refundId(), State.FAILED.name(),
                                JournalRecord.Status.TERMINAL, attempt, ask.amountRials(), intent.accounts(),
                                outcome.failure().code().apiName(), intent.data()))
                        .compose(i -> Future.<Refund>failedFuture(outcome.failure())))
                .onSuccess(held -> LogContext.info(LOG, held.refundId(), FLOW, held.state().name(),
                        "refund of {} rials of top-up {} held, by {}", held.amountRials(), held.topupId(), held.method()))
                .compose(held -> failpoints.at("refund.after-hold").map(held))
                .onComplete(done -> inflight.end(step))
                .compose(held -> advance(held.refundId(), attempt));
    }

    // ---- the completer ---------------------------------------------------------------------

    /**
     * Drives a refund on from whatever state it is stored in, as far as it can go now. The request, the sweeper and
     * recovery all come here; on one node, concurrent calls for one refund share one run.
     */
    public Future<Refund> advance(String refundId, int attempt) {
        Promise<Refund> run = Promise.promise();
        Future<Refund> joined = running.putIfAbsent(refundId, run.future());
        if (joined != null) {
            return joined;
        }
        long step = inflight.begin(interrupted(refundId, attempt));
        store.load(refundId)
                .compose(refund -> refund == null ? Future.failedFuture(notFound(refundId)) : step(refund, attempt))
                .onComplete(result -> {
                    inflight.end(step);
                    running.remove(refundId, run.future());
                    run.handle(result);
                });
        return run.future();
    }

    private Future<Refund> step(Refund refund, int attempt) {
        return switch (refund.state()) {
            // The bank has never seen a HELD refund: it is marked SENT before any call.
            case HELD -> send(refund, refund.method(), attempt, null);
            case SENT -> lookup(refund, attempt, Missing.SEND_AGAIN);
            case CREATED, REFUNDED, FAILED -> Future.succeededFuture(refund);
        };
    }

    /**
     * One send: the row marked SENT (one more send counted, the lease renewed) before the call, then the bank's
     * answer acted on. No answer leads to one lookup; a lookup that does not find it leaves the refund SENT for the
     * sweeper's next round, so a bank that keeps timing out gets one send per round, never a loop.
     */
    private Future<Refund> send(Refund from, Method method, int attempt, String cause) {
        return journal.append(record(from, State.SENT, JournalRecord.Status.PENDING, cause, attempt))
                .compose(i -> store.send(from, method, cause))
                .compose(sent -> sent.state() != State.SENT || sent.sends() != from.sends() + 1
                        ? Future.succeededFuture(sent) // another node or run moved it first
                        : authority(sent).compose(authority -> method == Method.REVERSE
                        ? reverse(sent, authority, attempt) : refund(sent, authority, attempt)));
    }

    private Future<Refund> reverse(Refund sent, String authority, int attempt) {
        return psp.reverse(authority).transform(answer -> answer.failed() ? noAnswer(sent, attempt, answer.cause())
                : answer.result() ? bankRefunded(sent, null, attempt)
                // A refused reverse reversed nothing: the money goes back through the refund API instead.
                : send(sent, Method.REFUND, attempt, "reverse_refused"));
    }

    private Future<Refund> refund(Refund sent, String authority, int attempt) {
        return psp.refund(authority, sent.amountRials(), Refund.bankDescription(sent.refundId())).transform(answer -> {
            if (answer.failed()) {
                return noAnswer(sent, attempt, answer.cause());
            }
            Psp.RefundAnswer bank = answer.result();
            return bank.refund() != null ? bankRefunded(sent, bank.refund().id(), attempt)
                    : end(sent, State.FAILED, "bank_refused_" + bank.refusal(), null, attempt);
        });
    }

    /** What a lookup that shows the bank does not have the refund leads to. */
    private enum Missing {
        /** A resumed refund (recovery, the sweeper, a retried request): sent again, if its last send is old enough. */
        SEND_AGAIN,
        /** Right after a send that got no answer: left SENT for the sweeper's next round, never a loop of sends. */
        LEAVE_FOR_SWEEPER
    }

    private Future<Refund> noAnswer(Refund sent, int attempt, Throwable cause) {
        LogContext.warn(LOG, sent.refundId(), FLOW, sent.state().name(), "the bank did not answer the {} ({}); looking it up",
                sent.method(), cause.toString());
        return lookup(sent, attempt, Missing.LEAVE_FOR_SWEEPER);
    }

    /**
     * What became of a SENT refund, from the bank: it has it, then REFUNDED; it shows it does not, then sent again
     * when {@code missing} allows and the last send is older than its lease, else left for the sweeper's next round;
     * no answer changes nothing. A younger send (recovery right after a crash, a retried request) may still be on its
     * way to the bank, where a lookup cannot see it yet.
     */
    private Future<Refund> lookup(Refund sent, int attempt, Missing missing) {
        boolean mayResend = missing == Missing.SEND_AGAIN && (sent.sentAt() == null
                || sent.sentAt().plusNanos(store.leaseMillis() * 1_000_000).isBefore(OffsetDateTime.now(ZoneOffset.UTC)));
        return authority(sent).compose(authority -> {
            if (sent.method() == Method.REVERSE) {
                return psp.inquiry(authority).transform(asked -> {
                    if (asked.failed()) {
                        return Future.succeededFuture(sent);
                    }
                    return switch (asked.result()) {
                        case REVERSED -> bankRefunded(sent, null, attempt);
                        case VERIFIED, PAID -> mayResend ? send(sent, Method.REVERSE, attempt, "not_at_bank")
                                : Future.succeededFuture(sent);
                        case IN_BANK, FAILED, UNKNOWN -> Future.succeededFuture(sent);
                    };
                });
            }
            String ours = Refund.bankDescription(sent.refundId());
            return psp.refunds(authority).transform(asked -> {
                if (asked.failed()) {
                    return Future.succeededFuture(sent);
                }
                Psp.BankRefund found = asked.result().stream().filter(r -> ours.equals(r.description())).findFirst().orElse(null);
                if (found != null) {
                    return bankRefunded(sent, found.id(), attempt);
                }
                return mayResend ? send(sent, Method.REFUND, attempt, "not_at_bank") : Future.succeededFuture(sent);
            });
        });
    }

    /** The bank has refunded: the failpoint between its answer and our ledger, then the hold posted. */
    private Future<Refund> bankRefunded(Refund sent, String bankRefundId, int attempt) {
        return failpoints.at("refund.after-bank")
                .compose(v -> end(sent, State.REFUNDED, null, bankRefundId, attempt))
                .compose(ended -> failpoints.at("refund.after-post").map(ended));
    }

    /** One atomic phase: the refund locked, its hold posted (REFUNDED) or voided (FAILED), journaled before and after. */
    private Future<Refund> end(Refund sent, State to, String cause, String bankRefundId, int attempt) {
        Future<Long> announced = journal.append(record(sent, to, JournalRecord.Status.PENDING, cause, attempt));
        return writer.submit(new RefundCommands.End(sent.refundId(), to, cause, bankRefundId, node, store.leaseMillis()), announced)
                .compose(outcome -> outcome.failure() != null ? Future.failedFuture(outcome.failure())
                        : Future.succeededFuture(outcome.value()))
                .compose(ended -> journal.append(record(ended, ended.state(), ended.state().journalStatus(), cause, attempt)).map(ended))
                .onSuccess(ended -> {
                    if (ended.state() == to) {
                        metrics.payment(FLOW, to == State.REFUNDED ? "refunded" : "failed");
                    }
                    LogContext.info(LOG, ended.refundId(), FLOW, ended.state().name(), "refund {} -> {}{}", sent.state(),
                            ended.state(), cause == null ? "" : " (" + cause + ")");
                });
    }

    // ---- recovery and the sweeper ------------------------------------------------------------

    /**
     * Recovery: a refund whose last journal record is PENDING. If its hold never committed, it is held again from the
     * journaled request (a refusal now is journaled and ends it); otherwise it is driven on from its stored state. It
     * counts as finished when it ends, or rests SENT for the sweeper when the bank cannot tell yet.
     */
    public Future<Refund> resume(JournalRecord pending) {
        int attempt = pending.attempt() + 1;
        return store.load(pending.paymentId()).compose(refund -> {
            if (refund != null) {
                return advance(refund.refundId(), attempt);
            }
            if (pending.data() == null) {
                // Only a run of the completer journals a record without the request, and it runs on a stored refund.
                throw new IllegalStateException("refund " + pending.paymentId() + " is journaled as " + pending.state()
                        + " but was never stored");
            }
            JsonObject data = new JsonObject(pending.data());
            Ask ask = new Ask(pending.paymentId(), data.getString("topupId"), data.getLong("amount"), data.getString("reason"),
                    data.getString("ticket"));
            return hold(ask, data.getString("walletId"), attempt)
                    .recover(err -> err instanceof DomainError
                            ? Future.succeededFuture(null) : Future.failedFuture(err));
        }).compose(refund -> refund == null ? Future.succeededFuture(null)
                : journal.append(record(refund, refund.state(), refund.state().journalStatus(), "recovered", attempt)).map(refund));
    }

    /**
     * One round of the refund sweeper: open refunds no live node leases (a node died, or the bank did not answer),
     * least recently checked first, at most {@code batchMax}, {@code concurrency} at a time, each through
     * {@link #advance}. {@code stopped} ends the round early, {@code inflightCount} counts each refund's step.
     */
    public Future<Void> sweep(BooleanSupplier stopped, AtomicInteger inflightCount, int batchMax, int concurrency) {
        return store.claim(batchMax).compose(claimed -> Lanes.each(claimed, concurrency, stopped, (refund, index) -> {
            inflightCount.incrementAndGet();
            return advance(refund.refundId(), 1).transform(result -> {
                inflightCount.decrementAndGet();
                if (result.failed()) {
                    LogContext.warn(LOG, refund.refundId(), FLOW, refund.state().name(), "sweep failed; next round retries: {}",
                            result.cause().toString());
                }
                return Future.succeededFuture();
            });
        }));
    }

    /** Refunds open longer than {@code graceSeconds}: the bank has not told us their fate since. */
    public Future<Metrics.Stuck> stuck(long graceSeconds) {
        return store.stuck(graceSeconds);
    }

    // ---- reads -----------------------------------------------------------------------------

    public Future<JsonObject> view(String refundId) {
        return store.load(refundId).compose(refund -> refund == null ? Future.failedFuture(notFound(refundId))
                : store.history(refundId, HISTORY_MAX).map(history -> refund.toJson().put("history", history)));
    }

    // ---- helpers -----------------------------------------------------------------------------

    private Future<String> authority(Refund refund) {
        return store.topup(refund.topupId()).map(topup -> {
            if (topup == null || topup.authority() == null) {
                throw new IllegalStateException("refund " + refund.refundId() + " names top-up " + refund.topupId()
                        + ", which has no authority at the bank");
            }
            return topup.authority();
        });
    }

    private JournalRecord record(Refund refund, State state, JournalRecord.Status status, String cause, int attempt) {
        return JournalRecord.of(node, FLOW, refund.refundId(), state.name(), status, attempt, refund.amountRials(),
                List.of(refund.walletId(), AccountKind.PSP_CLEARING_ID), cause,
                data(new Ask(refund.refundId(), refund.topupId(), refund.amountRials(), refund.reason(), refund.ticket()),
                        refund.walletId()).put("method", refund.method().name()).encode());
    }

    private static JsonObject data(Ask ask, String walletId) {
        return new JsonObject().put("topupId", ask.topupId()).put("walletId", walletId).put("amount", ask.amountRials())
                .put("reason", ask.reason()).put("ticket", ask.ticket());
    }

    /** A refund is driven on from its stored state, so letting go of one needs only its id. */
    private JournalRecord interrupted(String refundId, int attempt) {
        return JournalRecord.of(node, FLOW, refundId, "INTERRUPTED", JournalRecord.Status.PENDING, attempt, 0, List.of(),
                Inflight.INTERRUPTED, null);
    }

    private static DomainError notFound(String refundId) {
        return new DomainError(ErrorCode.REFUND_NOT_FOUND, "no refund " + refundId);
    }
}
