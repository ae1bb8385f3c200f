package taraz.topup;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.domain.DomainError;
import taraz.domain.ErrorCode;
import taraz.failpoint.Failpoints;
import taraz.journal.Inflight;
import taraz.journal.JournalRecord;
import taraz.journal.Journal;
import taraz.ledger.AccountKind;
import taraz.ledger.BatchWriter;
import taraz.ledger.Ledger;
import taraz.ops.LogContext;
import taraz.ops.Metrics;
import taraz.psp.Psp;
import taraz.topup.Topup.State;
import taraz.topup.TopupStore.BankCall;
import taraz.topup.TopupStore.Columns;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Wallet top-ups through a bank gateway. The whole flow, every state and transition:
 *
 * <pre>
 *   CREATED --PSP request--> REQUESTED (authority stored; the cardholder is sent to the bank)
 *   REQUESTED --callback OK--> CALLBACK_RECEIVED --> VERIFYING --PSP verify 100/101--> VERIFIED --credit--> CREDITED
 *   REQUESTED --callback NOK: inquiry--> as the bank says (below); IN_BANK stays REQUESTED
 *   VERIFYING --verify -50 (amount mismatch)--> FAILED (an alert, never a credit)
 *   VERIFYING --verify failed, bank says not paid yet--> REQUESTED (a forged or early callback)
 *   VERIFYING --PSP down: retried by the sweeper inside the bank's window; past it, inquiry--> as the bank says
 *   REQUESTED --sweeper: unVerified/inquiry says paid--> VERIFYING ...
 *   inquiry: PAID|VERIFIED --> verify; REVERSED --> REVERSED; FAILED --> FAILED; IN_BANK past the window --> EXPIRED;
 *            anything else (no answer, a status we do not know) --> no change
 * </pre>
 *
 * The callback never trusts its query string: it finds the top-up by authority, takes the
 * amount from the database and verifies server to server. The callback, the sweeper, boot
 * recovery and reconciliation all move a top-up through one completer ({@link #advance}, one
 * run per top-up on a node, see {@link Run}), one step at a time from its stored state, so none of them is a second implementation of the flow; and the credit is
 * one ledger transfer keyed by the top-up ({@code topup:<id>:credit}) under a lock on the
 * top-up row, so however many of them race, the wallet is credited once. No network call is
 * made inside a database transaction. Every transition is journaled as an intent (PENDING)
 * before the database changes, and again when a waiting or final state is reached.
 *
 * <p>A top-up that can still be paid leaves the payable states only on the bank's word that it
 * no longer can: inquiry says FAILED or REVERSED, or still IN_BANK past the window. The
 * callback's {@code Status} is never that word: anyone can send {@code Status=NOK}, and a
 * top-up closed on it would never be verified when the cardholder pays (incident 1).
 */
public final class TopupService {

    public static final String FLOW = "topup";
    private static final Logger LOG = LoggerFactory.getLogger(TopupService.class);
    private static final int HISTORY_MAX = 100;
    /** A bank call's recorded answer when the bank did not answer (a timeout, a 5xx, garbage): its error says which. */
    private static final String NO_ANSWER = "NO_ANSWER";
    /** The longest error text a bank call's record keeps: enough for the exception's kind and its timeout. */
    private static final int BANK_ERROR_CHARS_MAX = 300;
    /** A top-up's lastError while a verify the PSP did not answer (a timeout, a 5xx, no connection) waits for its retry. */
    public static final String VERIFY_NO_ANSWER = "verify_no_answer";

    private final TopupStore store;
    private final Ledger ledger;
    private final BatchWriter writer;
    private final Journal journal;
    private final Failpoints failpoints;
    private final String node;
    private final Psp psp;
    private final String callbackUrl;
    private final long pspWindowSeconds;
    private final long createGraceSeconds;
    private final Inflight inflight;
    /** Top-ups being driven by this node: concurrent callers of one top-up share one run. */
    private final Map<String, Run> running = new ConcurrentHashMap<>();

    public TopupService(Pool pool, Ledger ledger, BatchWriter writer, Journal journal, Failpoints failpoints, String node, Psp psp,
                        String callbackUrl, long pspWindowSeconds, long createGraceSeconds, long leaseMillis,
                        Inflight inflight) {
        this.inflight = inflight;
        this.store = new TopupStore(pool, node, leaseMillis);
        this.ledger = ledger;
        this.writer = writer;
        this.journal = journal;
        this.failpoints = failpoints;
        this.node = node;
        this.psp = psp;
        this.callbackUrl = callbackUrl;
        this.pspWindowSeconds = pspWindowSeconds;
        this.createGraceSeconds = createGraceSeconds;
    }

    public Psp psp() {
        return psp;
    }

    // ---- the request -----------------------------------------------------------------------

    /**
     * Opens a top-up and asks the bank for an authority, stored before the caller gets the
     * payment URL. {@code topupId} comes from the request's idempotency key, so a retry of a
     * request that died half-way continues the same top-up instead of opening another.
     */
    public Future<Topup> create(String topupId, String walletId, long amountRials) {
        JsonObject data = new JsonObject().put("walletId", walletId).put("amount", amountRials);
        long step = inflight.begin(interrupted(topupId, 1));
        return ledger.wallet(walletId)
                .compose(wallet -> wallet.kind() == AccountKind.PASSENGER ? Future.succeededFuture()
                        : Future.failedFuture(new DomainError(ErrorCode.WALLET_KIND_MISMATCH,
                        "wallet " + walletId + " is a " + wallet.kind().apiName() + " wallet; only passengers top up")))
                .compose(v -> store.load(topupId))
                .compose(existing -> existing != null ? Future.succeededFuture(existing)
                        : journal.append(JournalRecord.of(node, FLOW, topupId, State.CREATED.name(),
                                JournalRecord.Status.PENDING, 1, amountRials, List.of(walletId), null, data.encode()))
                        .compose(i -> store.insertCreated(topupId, walletId, amountRials, psp.name(), Driver.REQUEST))
                        .onSuccess(created -> {
                            if (created.state() == State.CREATED) {
                                LogContext.info(LOG, topupId, FLOW, created.state().name(), "top-up of {} rials -> {}",
                                        amountRials, created.state());
                            }
                        }))
                .compose(topup -> topup.state() != State.CREATED ? Future.succeededFuture(topup)
                        : psp.request(amountRials, callbackUrl, "taraz wallet top-up " + topupId)
                        .transform(requested -> requested.succeeded()
                                ? transition(topup, State.REQUESTED, null, 1, Driver.REQUEST, Columns.requested(requested.result()))
                                .compose(t -> failpoints.at("topup.after-request").map(t))
                                : transition(topup, State.FAILED, "psp_request_failed", 1, Driver.REQUEST, Columns.NONE)
                                .compose(t -> {
                                    // The PSP's host and its exception text go to our log, never to the caller.
                                    LogContext.warn(LOG, topupId, FLOW, t.state().name(), "the PSP did not open the payment: {}",
                                            requested.cause().toString());
                                    return Future.failedFuture(new DomainError(ErrorCode.PSP_UNAVAILABLE,
                                            "the bank gateway did not open the payment; this top-up is FAILED"));
                                })))
                .onComplete(done -> inflight.end(step));
    }

    // ---- the bank's callback ---------------------------------------------------------------

    /**
     * The cardholder's return from the bank. {@code Status} is a hint: OK verifies at once, NOK
     * asks inquiry first; neither closes a top-up by itself. An unknown authority costs one
     * indexed read and no call to the bank; a closed top-up is answered as it is. Concurrent
     * callbacks for one top-up join one run of the completer.
     */
    public Future<Topup> callback(String authority, String status) {
        return store.byAuthority(authority).compose(topup -> {
            if (topup == null) {
                return Future.failedFuture(new DomainError(ErrorCode.TOPUP_NOT_FOUND, "no top-up has authority " + authority));
            }
            if (topup.state().terminal()) {
                return Future.succeededFuture(topup);
            }
            return drive(topup.topupId(), 1, "NOK".equals(status) ? Cue.CALLBACK_NOK : Cue.CALLBACK_OK, Driver.CALLBACK);
        });
    }

    // ---- the completer: one step from the stored state ---------------------------------------

    /**
     * Drives a top-up on from whatever state it is stored in, as far as it can go now. The
     * callback, the sweeper and recovery all come here; on one node, concurrent calls for one
     * top-up share one run, which records the {@code driver} that started it.
     */
    public Future<Topup> advance(String topupId, int attempt, Driver driver) {
        return drive(topupId, attempt, Cue.NONE, driver);
    }

    /** Why a run of the completer starts: what its first step may take for granted. */
    private enum Cue {
        /** Recovery, reconciliation, the sweeper's inquiry round: from the stored state. */
        NONE,
        /** Status=NOK: a hint the cardholder cancelled; inquiry decides. */
        CALLBACK_NOK,
        /** Status=OK: a hint the cardholder paid; the verify decides. */
        CALLBACK_OK,
        /** The bank's unVerified list names it: paid, so verify without asking inquiry. */
        PAID_AT_BANK;

        /** A cue that a run which found the top-up unpaid should look again. */
        boolean saysPaid() {
            return this == CALLBACK_OK || this == PAID_AT_BANK;
        }
    }

    /**
     * One run of the completer for one top-up and everyone waiting on it. A caller saying
     * "paid" that joins a run already under way may have seen the payment the run's inquiry
     * missed (a forged NOK racing the real OK): if the run ends with the top-up still waiting
     * (REQUESTED), it runs once more on that cue, driven by that caller. Its fields are touched
     * only inside {@code running.compute} for its key, which serializes them.
     */
    private static final class Run {
        final Promise<Topup> done = Promise.promise();
        Cue cue;
        Driver driver;
        Cue again;
        Driver againDriver;

        Run(Cue cue, Driver driver) {
            this.cue = cue;
            this.driver = driver;
        }
    }

    private Future<Topup> drive(String topupId, int attempt, Cue cue, Driver driver) {
        Run fresh = new Run(cue, driver);
        Run run = running.compute(topupId, (id, current) -> {
            if (current == null) {
                return fresh;
            }
            if (cue.saysPaid() && (current.again == null || cue.ordinal() > current.again.ordinal())) {
                current.again = cue;
                current.againDriver = driver;
            }
            return current;
        });
        if (run == fresh) {
            runOnce(topupId, attempt, run);
        }
        return run.done.future();
    }

    private void runOnce(String topupId, int attempt, Run run) {
        long step = inflight.begin(interrupted(topupId, attempt));
        store.load(topupId).compose(topup -> topup == null
                        ? Future.failedFuture(notFound(topupId))
                        : first(topup, attempt, run.cue, run.driver))
                .onComplete(result -> {
                    inflight.end(step);
                    Run rerun = running.compute(topupId, (id, current) -> {
                        if (result.succeeded() && result.result().state() == State.REQUESTED && current.again != null) {
                            current.cue = current.again;
                            current.driver = current.againDriver;
                            current.again = null;
                            current.againDriver = null;
                            return current;
                        }
                        return null;
                    });
                    if (rerun != null) {
                        runOnce(topupId, attempt, rerun);
                    } else {
                        run.done.handle(result);
                    }
                });
    }

    /** The run's first step, which its cue may shorten; then the stored state leads. */
    private Future<Topup> first(Topup topup, int attempt, Cue cue, Driver driver) {
        if (topup.state() != State.REQUESTED) {
            return step(topup, attempt, driver);
        }
        return switch (cue) {
            case NONE -> step(topup, attempt, driver);
            case CALLBACK_NOK -> inquire(topup, attempt, driver, "cancelled_by_cardholder");
            case CALLBACK_OK -> transition(topup, State.CALLBACK_RECEIVED, null, attempt, driver, Columns.CALLBACK)
                    .compose(t -> failpoints.at("topup.after-callback").map(t))
                    .compose(t -> step(t, attempt, driver));
            case PAID_AT_BANK -> bankCall(topup, BankCall.UNVERIFIED, Psp.Inquiry.PAID.name(), null, null, driver)
                    .compose(v -> verify(topup, attempt, driver));
        };
    }

    private Future<Topup> step(Topup topup, int attempt, Driver driver) {
        return switch (topup.state()) {
            case CREATED -> olderThan(topup.createdAt(), createGraceSeconds)
                    ? transition(topup, State.FAILED, "interrupted_before_request", attempt, driver, Columns.NONE)
                    : Future.succeededFuture(topup);
            case REQUESTED -> inquire(topup, attempt, driver, "failed_at_bank");
            case CALLBACK_RECEIVED, VERIFYING -> verify(topup, attempt, driver);
            case VERIFIED -> credit(topup, attempt, driver);
            case CREDITED, FAILED, EXPIRED, REVERSED -> Future.succeededFuture(topup);
        };
    }

    /** Asks the bank about a payment we wait for; no answer changes nothing. */
    private Future<Topup> inquire(Topup topup, int attempt, Driver driver, String failCause) {
        return inquiry(topup, driver).transform(asked -> asked.failed()
                ? Future.succeededFuture(topup) : onInquiry(topup, asked.result(), attempt, driver, failCause));
    }

    /** The bank's inquiry of the top-up's payment, its answer (or its silence) recorded. */
    private Future<Psp.Inquiry> inquiry(Topup topup, Driver driver) {
        Future<Psp.Inquiry> asked = psp.inquiry(topup.authority());
        return asked.transform(answer -> answer.succeeded()
                        ? bankCall(topup, BankCall.INQUIRY, answer.result().name(), null, null, driver)
                        : bankCall(topup, BankCall.INQUIRY, NO_ANSWER, null, errorText(answer.cause()), driver))
                .transform(recorded -> asked);
    }

    /** The bank's verify of the top-up's payment, its answer (or its silence) recorded. */
    private Future<Psp.Verification> verification(Topup topup, Driver driver) {
        Future<Psp.Verification> asked = psp.verify(topup.authority(), topup.amountRials());
        return asked.transform(answer -> answer.succeeded()
                        ? bankCall(topup, BankCall.VERIFY, answer.result().outcome().name(), answer.result().code(), null, driver)
                        : bankCall(topup, BankCall.VERIFY, NO_ANSWER, null, errorText(answer.cause()), driver))
                .transform(recorded -> asked);
    }

    /**
     * Records a call to the bank for the story. A record that cannot be written is logged and the step goes on: the
     * call has been made, and the top-up's own state, not this record, decides what happens next.
     */
    private Future<Void> bankCall(Topup topup, BankCall call, String answer, Integer code, String error, Driver driver) {
        String kept = error == null || error.length() <= BANK_ERROR_CHARS_MAX ? error : error.substring(0, BANK_ERROR_CHARS_MAX);
        return store.bankCall(topup.topupId(), call, answer, code, kept, driver).recover(err -> {
            LogContext.warn(LOG, topup.topupId(), FLOW, topup.state().name(), "the bank's {} answer {} was not recorded: {}",
                    call, answer, err.toString());
            return Future.succeededFuture();
        });
    }

    /**
     * What the bank says about a payment we wait for (REQUESTED) or failed to verify: the only
     * way out of the payable states. {@code failCause} names why the bank's FAILED came to be
     * asked about; a status we do not know changes nothing.
     */
    private Future<Topup> onInquiry(Topup topup, Psp.Inquiry bank, int attempt, Driver driver, String failCause) {
        return switch (bank) {
            case PAID, VERIFIED -> verify(topup, attempt, driver);
            case REVERSED -> transition(topup, State.REVERSED, "reversed_by_bank", attempt, driver, Columns.NONE);
            case FAILED -> transition(topup, State.FAILED, failCause, attempt, driver, Columns.NONE);
            case IN_BANK -> olderThan(topup.createdAt(), pspWindowSeconds)
                    ? transition(topup, State.EXPIRED, "not_paid_in_window", attempt, driver, Columns.NONE)
                    : topup.state() == State.REQUESTED ? Future.succeededFuture(topup)
                    : transition(topup, State.REQUESTED, "not_paid_yet", attempt, driver, Columns.NONE);
            case UNKNOWN -> Future.succeededFuture(topup);
        };
    }

    private Future<Topup> verify(Topup topup, int attempt, Driver driver) {
        return transition(topup, State.VERIFYING, null, attempt, driver, Columns.VERIFY_ATTEMPT)
                .compose(verifying -> verifying.state() != State.VERIFYING ? step(verifying, attempt, driver)
                        : verification(verifying, driver).transform(answer -> {
                    if (answer.failed()) {
                        return pspDown(verifying, answer.cause(), attempt, driver);
                    }
                    Psp.Verification v = answer.result();
                    return switch (v.outcome()) {
                        case VERIFIED -> transition(verifying, State.VERIFIED, null, attempt, driver,
                                Columns.verified(v.refId(), v.cardPan()))
                                .compose(t -> failpoints.at("topup.after-verify").map(t))
                                .compose(t -> credit(t, attempt, driver));
                        case AMOUNT_MISMATCH -> transition(verifying, State.FAILED, "amount_mismatch", attempt, driver, Columns.NONE);
                        // The bank said the verify failed; only inquiry may close the top-up. One it
                        // still calls paid is left VERIFYING for the next round, not verified again now.
                        case FAILED -> inquiry(verifying, driver).transform(asked -> asked.failed()
                                || asked.result().paid() ? Future.succeededFuture(verifying)
                                : onInquiry(verifying, asked.result(), attempt, driver, "verify_code_" + v.code()));
                    };
                }));
    }

    /** The PSP did not answer the verify: inside the window the sweeper retries; past it, inquiry settles it. */
    private Future<Topup> pspDown(Topup topup, Throwable cause, int attempt, Driver driver) {
        LogContext.warn(LOG, topup.topupId(), FLOW, topup.state().name(), "verify {} got no answer from the PSP ({}); "
                + "retried later", topup.verifyAttempts(), cause.toString());
        // For support, beside verifyAttempts; no change of state, so no history row, and the lease is left as it is.
        return store.lastError(topup, VERIFY_NO_ANSWER).compose(noted -> {
            if (!olderThan(noted.createdAt(), pspWindowSeconds)) {
                return Future.succeededFuture(noted);
            }
            return inquiry(noted, driver).transform(asked -> asked.failed() || asked.result().paid()
                    ? Future.succeededFuture(noted) : onInquiry(noted, asked.result(), attempt, driver, "failed_at_bank"));
        });
    }

    /** One atomic phase: lock the top-up, post the credit (keyed by the top-up), mark it CREDITED. */
    private Future<Topup> credit(Topup verified, int attempt, Driver driver) {
        return credit(verified, EnumSet.of(State.VERIFIED), null, attempt, driver)
                .compose(t -> failpoints.at("topup.after-credit").map(t))
                .compose(t -> journal.append(record(t, t.state(), t.state().journalStatus(), null, attempt)).map(t));
    }

    /**
     * Reconciliation: the bank's settlement report (or its verify) shows this top-up paid, and
     * its wallet holds no credit for it. It is credited by the flow's own credit phase, with the
     * flow's transfer key, from whatever state the old server or a crash left it in; if that
     * transfer exists already (the callback, the sweeper or recovery got there first), nothing
     * more is posted.
     */
    public Future<Topup> creditSettled(String topupId, String cause) {
        return store.load(topupId).compose(topup -> topup == null
                ? Future.failedFuture(notFound(topupId))
                : credit(topup, EnumSet.allOf(State.class), cause, 1, Driver.RECONCILE)
                .compose(t -> journal.append(record(t, t.state(), t.state().journalStatus(), cause, 1)).map(t)));
    }

    /**
     * Reconciliation: an open top-up past the bank's window that the bank does not know (its
     * settlement reports for the days around it have no such payment, inquiry has no answer)
     * ends EXPIRED. A top-up the bank verified is never expired.
     */
    public Future<Topup> expireUnsettled(String topupId, String cause) {
        return store.load(topupId).compose(topup -> topup == null
                ? Future.failedFuture(notFound(topupId))
                : topup.state().journalStatus() == JournalRecord.Status.TERMINAL || topup.state() == State.VERIFIED
                ? Future.succeededFuture(topup)
                : transition(topup, State.EXPIRED, cause, 1, Driver.RECONCILE, Columns.NONE));
    }

    /**
     * The credit phase, from any state in {@code from}. The flow itself credits only a VERIFIED
     * top-up, for which the transfer cannot exist yet; reconciliation may find it posted already.
     */
    private Future<Topup> credit(Topup topup, Set<State> from, String cause, int attempt, Driver driver) {
        Future<Long> announced = journal.append(record(topup, State.CREDITED, JournalRecord.Status.PENDING, cause, attempt));
        return writer.submit(new CreditCommand(topup.topupId(), from, cause, node, driver), announced)
                .compose(outcome -> outcome.failure() != null ? Future.failedFuture(outcome.failure())
                        : Future.succeededFuture(outcome.value()))
                .onSuccess(now -> LogContext.info(LOG, now.topupId(), FLOW, now.state().name(), "top-up {} -> {}{}",
                        topup.state(), now.state(), cause == null ? "" : " (" + cause + ")"));
    }

    /**
     * Recovery: a top-up whose last journal record is PENDING is driven on from its stored
     * state. It counts as finished once it rests (REQUESTED) or ends; a PSP still down leaves it
     * to the sweeper.
     */
    public Future<Topup> resume(JournalRecord pending) {
        return advance(pending.paymentId(), pending.attempt() + 1, Driver.RECOVERY).compose(topup -> {
            if (topup.state().journalStatus() == JournalRecord.Status.PENDING) {
                return Future.failedFuture(new IllegalStateException("top-up " + topup.topupId() + " still " + topup.state()));
            }
            return journal.append(record(topup, topup.state(), topup.state().journalStatus(), "recovered",
                    pending.attempt() + 1)).map(topup);
        });
    }

    // ---- reads -----------------------------------------------------------------------------

    public Future<JsonObject> view(String topupId) {
        return store.load(topupId).compose(topup -> topup == null ? Future.failedFuture(notFound(topupId))
                : store.history(topupId, HISTORY_MAX).map(history -> withPaymentUrl(topup).put("history", history)));
    }

    public JsonObject withPaymentUrl(Topup topup) {
        return topup.toJson().put("paymentUrl", topup.authority() == null ? null : psp.paymentUrl(topup.authority()));
    }

    /** The sweeper's claim of open top-ups, least recently checked first ({@link TopupStore#claim}). */
    public Future<List<Topup>> claimOpen(long callbackGraceSeconds, int limit) {
        return store.claim(callbackGraceSeconds, null, limit);
    }

    /**
     * The sweeper's first claim: the open top-ups whose authority the bank lists as paid but
     * unverified, under the same rules as {@link #claimOpen}: a payment whose callback may still
     * be on its way (inside the grace) is left to the callback, one a live node is driving to it.
     */
    public Future<List<Topup>> claimPaid(List<String> authorities, long callbackGraceSeconds) {
        return store.claim(callbackGraceSeconds, authorities, authorities.size());
    }

    /** Top-ups open past the bank's window by more than {@code graceSeconds}: ones nothing finished. */
    public Future<Metrics.Stuck> stuck(long graceSeconds) {
        return store.stuck(graceSeconds + pspWindowSeconds);
    }

    /**
     * The sweeper's step, through the completer like every other caller: a REQUESTED top-up
     * that the bank lists as paid is verified at once, without asking inquiry first.
     */
    public Future<Topup> sweep(Topup topup, Set<String> paidUnverified) {
        return drive(topup.topupId(), 1, paidUnverified.contains(topup.authority()) ? Cue.PAID_AT_BANK : Cue.NONE,
                Driver.SWEEPER);
    }

    // ---- transitions -------------------------------------------------------------------------

    /**
     * Moves a top-up from the state it was read in to {@code to}: the intent is journaled, then
     * the row is moved only if it is still in that state (else another node or request moved it
     * first, and the top-up is returned as it now is), then a waiting or final state is journaled
     * again. {@code columns} are set beside the state.
     */
    private Future<Topup> transition(Topup from, State to, String cause, int attempt, Driver driver, Columns columns) {
        return journal.append(record(from, to, JournalRecord.Status.PENDING, cause, attempt))
                .compose(i -> store.move(from, to, cause, columns, driver))
                .onSuccess(now -> LogContext.info(LOG, now.topupId(), FLOW, now.state().name(), "top-up {} -> {}{}",
                        from.state(), now.state(), cause == null ? "" : " (" + cause + ")"))
                .compose(now -> now.state() == to && to.journalStatus() == JournalRecord.Status.PENDING
                        ? Future.succeededFuture(now)
                        : journal.append(record(now, now.state(), now.state().journalStatus(), cause, attempt)).map(now));
    }

    private JournalRecord record(Topup topup, State state, JournalRecord.Status status, String cause, int attempt) {
        return JournalRecord.of(node, FLOW, topup.topupId(), state.name(), status, attempt, topup.amountRials(),
                List.of(topup.walletId(), AccountKind.PSP_CLEARING_ID), cause,
                new JsonObject().put("authority", topup.authority()).encode());
    }

    /** A top-up is driven on from its stored state, so letting go of one needs only its id. */
    private JournalRecord interrupted(String topupId, int attempt) {
        return JournalRecord.of(node, FLOW, topupId, "INTERRUPTED", JournalRecord.Status.PENDING, attempt, 0, List.of(),
                Inflight.INTERRUPTED, null);
    }

    private static String errorText(Throwable cause) {
        return cause.getMessage() != null ? cause.getMessage() : cause.toString();
    }

    private static DomainError notFound(String topupId) {
        return new DomainError(ErrorCode.TOPUP_NOT_FOUND, "no top-up " + topupId);
    }

    private static boolean olderThan(OffsetDateTime at, long seconds) {
        return at.plusSeconds(seconds).isBefore(OffsetDateTime.now(ZoneOffset.UTC));
    }
}
