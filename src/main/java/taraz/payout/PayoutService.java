package taraz.payout;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.domain.DomainError;
import taraz.domain.ErrorCode;
import taraz.failpoint.Failpoints;
import taraz.journal.Inflight;
import taraz.journal.Journal;
import taraz.journal.JournalRecord;
import taraz.ledger.AccountKind;
import taraz.ledger.BatchWriter;
import taraz.ledger.Ledger;
import taraz.ops.LogContext;
import taraz.ops.Metrics;
import taraz.payout.Payout.State;
import taraz.psp.HttpPayoutProvider;
import taraz.psp.PayoutProvider;

import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Driver payouts to an IBAN through the payout provider. The whole flow, every state and transition:
 *
 * <pre>
 *   CREATED --hold on the driver's wallet--> HELD          (available balance short: FAILED insufficient_funds, nothing held)
 *   HELD    --SENT recorded, then the provider asked under our reference (the payout id)--> SENT
 *   SENT    --provider: PAID--> post the hold to payout clearing --> PAID
 *   SENT    --provider: FAILED (closed account, wrong IBAN...)--> void the hold --> FAILED (the money back in the wallet)
 *   SENT    --provider: IN_PROGRESS, or no answer--> SENT (its callback or the sweeper's status call moves it on)
 *   SENT    --status: the provider never got it (UNKNOWN)--> sent again under the same reference
 * </pre>
 *
 * SENT is recorded before the provider is called, so a crash or a timeout at any point leaves a payout whose fate is
 * asked, never guessed: the provider's status under our reference says PAID, FAILED, still going, or never received.
 * Only the last sends again, and since the provider is idempotent by reference even a send racing a late first one
 * makes one transfer. The hold, the post and the void are commands of the ledger writer under the payout row's lock,
 * each from the states it names ({@link PayoutCommand}), so the callback, the sweeper, recovery and a retried request
 * can race and the money moves once. Every transition is journaled as an intent (PENDING) before the database
 * changes, and again when a waiting or final state is reached. No network call is made inside a transaction.
 */
public final class PayoutService {

    public static final String FLOW = "payout";
    /** Where the provider calls back when a transfer completes; a hint only, open to the provider without a key. */
    public static final String CALLBACK_PATH = "/v1/psp/payouts/callback";
    /** Why a payout the driver's wallet could not cover ended FAILED. */
    public static final String INSUFFICIENT_FUNDS = "insufficient_funds";
    private static final String REFERENCE_CONFLICT = "reference_conflict";
    private static final Logger LOG = LoggerFactory.getLogger(PayoutService.class);
    private static final int HISTORY_MAX = 100;

    private final PayoutStore store;
    private final Ledger ledger;
    private final BatchWriter writer;
    private final Journal journal;
    private final Failpoints failpoints;
    private final String node;
    private final PayoutProvider provider;
    private final String callbackUrl;
    private final long slaSeconds;
    private final MeterRegistry registry;
    private final Inflight inflight;
    /** Payouts being driven by this node: concurrent callers of one payout share one run. */
    private final Map<String, Future<Payout>> running = new ConcurrentHashMap<>();

    public PayoutService(Pool pool, Ledger ledger, BatchWriter writer, Journal journal, Failpoints failpoints, String node,
                         PayoutProvider provider, String callbackUrl, long leaseMillis, long slaSeconds, MeterRegistry registry,
                         Inflight inflight) {
        this.store = new PayoutStore(pool, node, leaseMillis);
        this.ledger = ledger;
        this.writer = writer;
        this.journal = journal;
        this.failpoints = failpoints;
        this.node = node;
        this.provider = provider;
        this.callbackUrl = callbackUrl;
        this.slaSeconds = slaSeconds;
        this.registry = registry;
        this.inflight = inflight;
    }

    // ---- the request -----------------------------------------------------------------------

    /**
     * Opens a payout and drives it as far as it goes now. {@code payoutId} comes from the request's idempotency key
     * (or the batch's day and driver), so a retry of a request that died half-way continues the same payout. With a
     * {@code batchDay}, a driver who has that day's batch payout under another id gets null.
     */
    public Future<Payout> create(String payoutId, String walletId, long amountRials, String iban, LocalDate batchDay) {
        if (!Iban.valid(iban)) {
            return Future.failedFuture(new DomainError(ErrorCode.INVALID_IBAN, "iban must be IR and 24 digits with a valid "
                    + "ISO 13616 mod-97 checksum"));
        }
        JsonObject data = new JsonObject().put("walletId", walletId).put("amount", amountRials);
        return ledger.wallet(walletId)
                .compose(wallet -> wallet.kind() == AccountKind.DRIVER ? Future.succeededFuture()
                        : Future.failedFuture(new DomainError(ErrorCode.WALLET_KIND_MISMATCH,
                        "wallet " + walletId + " is a " + wallet.kind().apiName() + " wallet; only drivers are paid out")))
                .compose(v -> store.load(payoutId))
                .compose(existing -> existing != null ? Future.succeededFuture(existing)
                        : journal.append(JournalRecord.of(node, FLOW, payoutId, State.CREATED.name(),
                                JournalRecord.Status.PENDING, 1, amountRials, List.of(walletId), null, data.encode()))
                        .compose(i -> store.insertCreated(payoutId, walletId, amountRials, iban, provider.name(), batchDay))
                        .onSuccess(created -> {
                            if (created != null && created.state() == State.CREATED) {
                                LogContext.info(LOG, payoutId, FLOW, created.state().name(), "payout of {} rials -> {}",
                                        amountRials, created.state());
                            }
                        }))
                .compose(payout -> payout == null ? Future.succeededFuture(null) : drive(payout.payoutId(), 1));
    }

    /** The provider's callback: a hint that a transfer completed; the provider's status decides. */
    public Future<Payout> callback(String payoutId) {
        return store.load(payoutId).compose(payout -> payout == null ? Future.failedFuture(notFound(payoutId))
                : payout.state().terminal() ? Future.succeededFuture(payout) : drive(payoutId, 1));
    }

    // ---- the completer: one step from the stored state ---------------------------------------

    /**
     * Drives a payout on from whatever state it is stored in, as far as it can go now. The request, the callback, the
     * sweeper and recovery all come here; on one node, concurrent calls for one payout share one run.
     */
    public Future<Payout> advance(String payoutId, int attempt) {
        return drive(payoutId, attempt);
    }

    private Future<Payout> drive(String payoutId, int attempt) {
        AtomicBoolean started = new AtomicBoolean();
        Future<Payout> run = running.computeIfAbsent(payoutId, id -> {
            started.set(true);
            long step = inflight.begin(interrupted(id, attempt));
            return store.load(id)
                    .compose(payout -> payout == null ? Future.failedFuture(notFound(id)) : step(payout, attempt))
                    .onComplete(done -> inflight.end(step));
        });
        if (started.get()) {
            run.onComplete(done -> running.remove(payoutId, run));
        }
        return run;
    }

    private Future<Payout> step(Payout payout, int attempt) {
        return switch (payout.state()) {
            case CREATED -> hold(payout, attempt);
            case HELD -> send(payout, attempt);
            case SENT -> ask(payout, attempt);
            case PAID, FAILED -> Future.succeededFuture(payout);
        };
    }

    /** The amount held on the driver's wallet, or the payout FAILED when the wallet no longer has it. */
    private Future<Payout> hold(Payout created, int attempt) {
        return ledgerStep(created, PayoutCommand.Step.HOLD, State.HELD, null, null, attempt)
                .compose(now -> now.state() != State.HELD ? Future.succeededFuture(now)
                        : failpoints.at("payout.after-hold").compose(v -> send(now, attempt)));
    }

    /** SENT recorded (with this node's lease), then the provider asked under our reference. */
    private Future<Payout> send(Payout held, int attempt) {
        return journal.append(record(held, State.SENT, JournalRecord.Status.PENDING, null, attempt))
                .compose(i -> store.move(held, State.SENT, null, true))
                .compose(sent -> {
                    if (sent.state() != State.SENT) {
                        return Future.succeededFuture(sent);
                    }
                    LogContext.info(LOG, sent.payoutId(), FLOW, sent.state().name(), "payout {} -> SENT", held.state());
                    return sendToProvider(sent, attempt);
                });
    }

    /**
     * A refusal of the request itself (a 400: the provider made no transfer) fails the payout; a reference the provider
     * says names another transfer (409) is left SENT for support, never sent again or voided.
     */
    private Future<Payout> sendToProvider(Payout sent, int attempt) {
        return provider.send(sent.payoutId(), sent.iban(), sent.amountRials(), callbackUrl).transform(answer -> {
            if (answer.succeeded()) {
                return failpoints.at("payout.after-psp").compose(v -> onTransfer(sent, answer.result(), attempt));
            }
            if (answer.cause() instanceof HttpPayoutProvider.PayoutRefusedException refused
                    && !REFERENCE_CONFLICT.equals(refused.error())) {
                LogContext.warn(LOG, sent.payoutId(), FLOW, sent.state().name(), "the payout provider refused the payout: {}",
                        refused.getMessage());
                return ledgerStep(sent, PayoutCommand.Step.VOID, State.FAILED, "refused_by_provider", null, attempt);
            }
            return noAnswer(sent, "send", answer.cause(), attempt);
        });
    }

    /** Asks the provider about a SENT payout; the provider never having got it is the one case that sends again. */
    private Future<Payout> ask(Payout sent, int attempt) {
        return provider.status(sent.payoutId()).transform(asked -> {
            if (asked.failed()) {
                return noAnswer(sent, "status", asked.cause(), attempt);
            }
            if (asked.result().state() != PayoutProvider.State.UNKNOWN) {
                return onTransfer(sent, asked.result(), attempt);
            }
            return journal.append(record(sent, State.SENT, JournalRecord.Status.PENDING, "not_at_provider", attempt))
                    .compose(i -> store.move(sent, State.SENT, "not_at_provider", true))
                    .compose(again -> again.state() != State.SENT ? Future.succeededFuture(again) : sendToProvider(again, attempt));
        });
    }

    /** What the provider says of a transfer under our reference. */
    private Future<Payout> onTransfer(Payout sent, PayoutProvider.Transfer transfer, int attempt) {
        return switch (transfer.state()) {
            case PAID -> ledgerStep(sent, PayoutCommand.Step.POST, State.PAID, null, transfer.providerId(), attempt)
                    .compose(now -> failpoints.at("payout.after-post").map(now));
            case FAILED -> ledgerStep(sent, PayoutCommand.Step.VOID, State.FAILED,
                    transfer.failureReason() != null ? transfer.failureReason() : "failed_at_provider", transfer.providerId(), attempt);
            case IN_PROGRESS, UNKNOWN -> rest(sent, transfer.providerId(), null, attempt);
        };
    }

    /** The provider did not answer: the payout stays SENT, and its status is asked later. */
    private Future<Payout> noAnswer(Payout sent, String call, Throwable cause, int attempt) {
        LogContext.warn(LOG, sent.payoutId(), FLOW, sent.state().name(), "the payout provider did not answer the {} ({}); "
                + "its status is asked later", call, cause.toString());
        return rest(sent, null, "no_answer_to_" + call, attempt);
    }

    private Future<Payout> rest(Payout sent, String providerTransferId, String note, int attempt) {
        return store.rest(sent, providerTransferId, note)
                .compose(now -> journal.append(record(now, now.state(), now.state().journalStatus(), note, attempt)).map(now));
    }

    /**
     * A money step through the ledger writer: the intent journaled, the command run under the payout's lock, the
     * outcome journaled when it is a waiting or final state.
     */
    private Future<Payout> ledgerStep(Payout from, PayoutCommand.Step step, State to, String reason, String providerTransferId,
                                      int attempt) {
        Future<Long> announced = journal.append(record(from, to, JournalRecord.Status.PENDING, reason, attempt));
        return writer.submit(new PayoutCommand(step, from.payoutId(), reason, providerTransferId, node), announced)
                .compose(outcome -> outcome.failure() != null ? Future.failedFuture(outcome.failure())
                        : Future.succeededFuture(outcome.value()))
                .compose(now -> {
                    if (now.state() != from.state()) {
                        LogContext.info(LOG, now.payoutId(), FLOW, now.state().name(), "payout {} -> {}{}", from.state(),
                                now.state(), now.failureReason() == null ? "" : " (" + now.failureReason() + ")");
                    }
                    if (now.state().terminal() && from.state() != now.state()) {
                        Metrics.payment(registry, FLOW, now.state() == State.PAID ? "paid" : "failed");
                    }
                    return now.state().journalStatus() == JournalRecord.Status.PENDING ? Future.succeededFuture(now)
                            : journal.append(record(now, now.state(), now.state().journalStatus(), reason, attempt)).map(now);
                });
    }

    /**
     * Recovery: a payout whose last journal record is PENDING is driven on from its stored state. It counts as finished
     * once it waits for the provider (SENT) or ends.
     */
    public Future<Payout> resume(JournalRecord pending) {
        return advance(pending.paymentId(), pending.attempt() + 1).compose(payout -> {
            if (payout.state().journalStatus() == JournalRecord.Status.PENDING) {
                return Future.failedFuture(new IllegalStateException("payout " + payout.payoutId() + " still " + payout.state()));
            }
            return journal.append(record(payout, payout.state(), payout.state().journalStatus(), "recovered",
                    pending.attempt() + 1)).map(payout);
        });
    }

    /**
     * Reconciliation: the provider's report shows a payout we closed as FAILED paid after all. The driver has the money
     * twice (at the bank, and back in the wallet), so the flow's own post is made, keyed as the flow keys it; refused
     * with insufficient_funds when the wallet no longer has the amount. A payout in another state is left as it is.
     */
    public Future<Payout> postPaidAtProvider(String payoutId, String cause) {
        return store.load(payoutId).compose(payout -> payout == null ? Future.failedFuture(notFound(payoutId))
                : payout.state() != State.FAILED ? Future.succeededFuture(payout)
                : ledgerStep(payout, PayoutCommand.Step.POST_PAID_AT_PROVIDER, State.PAID, cause, null, 1));
    }

    // ---- reads and the sweeper -------------------------------------------------------------

    public Future<JsonObject> view(String payoutId) {
        return store.load(payoutId).compose(payout -> payout == null ? Future.failedFuture(notFound(payoutId))
                : store.history(payoutId, HISTORY_MAX).map(history -> payout.toJson().put("history", history)));
    }

    /** The sweeper's claim of open payouts, least recently checked first ({@link PayoutStore#claim}). */
    public Future<List<Payout>> claimOpen(int limit) {
        return store.claim(limit);
    }

    /** The sweeper's step, through the completer like every other caller. */
    public Future<Payout> sweep(Payout payout) {
        return drive(payout.payoutId(), 1);
    }

    /** Payouts open longer than the provider's completion time by more than {@code graceSeconds}. */
    public Future<Metrics.Stuck> stuck(long graceSeconds) {
        return store.stuck(graceSeconds + slaSeconds);
    }

    private JournalRecord record(Payout payout, State state, JournalRecord.Status status, String cause, int attempt) {
        return JournalRecord.of(node, FLOW, payout.payoutId(), state.name(), status, attempt, payout.amountRials(),
                List.of(payout.walletId(), AccountKind.PAYOUT_CLEARING_ID), cause, null);
    }

    /** A payout is driven on from its stored state, so letting go of one needs only its id. */
    private JournalRecord interrupted(String payoutId, int attempt) {
        return JournalRecord.of(node, FLOW, payoutId, "INTERRUPTED", JournalRecord.Status.PENDING, attempt, 0, List.of(),
                Inflight.INTERRUPTED, null);
    }

    private static DomainError notFound(String payoutId) {
        return new DomainError(ErrorCode.PAYOUT_NOT_FOUND, "no payout " + payoutId);
    }
}
