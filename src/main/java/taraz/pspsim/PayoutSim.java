package taraz.pspsim;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.WebClient;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import taraz.psp.PayoutProvider;
import taraz.psp.PayoutReportCsv;
import taraz.pspsim.FaultedCall.Reply;
import taraz.pspsim.SimTransfer.State;

/**
 * The simulated payout provider, on the simulator's port and event-loop context: transfers to IBANs by the sender's
 * reference id ({@code /payout/v1/*}), completed asynchronously after {@link PayoutFaults#completionDelayMillis()}
 * with a callback, a daily report, and {@code GET /sim/payouts/{referenceId}} for tests. Every change goes through
 * the simulator's store before it is answered; a restart replays the transfers and completes those left in progress.
 */
final class PayoutSim {
    /** The endpoints' names in the fault settings' {@code endpoints}. */
    static final String SEND = "payout";
    static final String STATUS = "payoutStatus";
    static final Pattern IBAN = Pattern.compile("IR[0-9]{24}");
    /** Path-safe, so the status URL needs no escaping; long enough for a UUID with a prefix. */
    static final int REFERENCE_ID_LENGTH_MAX = 64;
    static final Pattern REFERENCE_ID = Pattern.compile("[A-Za-z0-9._:-]{1," + REFERENCE_ID_LENGTH_MAX + "}");
    static final int DESCRIPTION_LENGTH_MAX = 255;
    static final int TRANSFERS_MAX = 1_000_000;
    static final long TRANSFER_ID_BASE = 700_000_000L;
    private static final Logger LOG = LoggerFactory.getLogger(PayoutSim.class);

    private final Vertx vertx;
    private final WebClient client;
    private final Supplier<SimFaults> faults;
    private final Function<JsonObject, Future<Void>> persist;
    private final Map<String, SimTransfer> transfers = new HashMap<>();
    // Faults are rolled with a plain Random: nextDouble() is in [0, 1), so rates 0 and 1 are exact.
    private final Random random = new Random();
    /** POSTs that named a reference, summed over the transfers. */
    private long sends;

    /**
     * {@code faults} gives the settings in force; {@code persist} appends one transfer's JSON to the simulator's store
     * and completes once it is on disk.
     */
    PayoutSim(Vertx vertx, WebClient client, Supplier<SimFaults> faults, Function<JsonObject, Future<Void>> persist) {
        this.vertx = vertx;
        this.client = client;
        this.faults = faults;
        this.persist = persist;
    }

    /** One transfer line of the store, oldest first: the last line per transfer wins. */
    void replay(JsonObject json) {
        SimTransfer t = SimTransfer.fromJson(json);
        SimTransfer before = transfers.put(t.referenceId, t);
        sends += t.sends - (before == null ? 0 : before.sends);
    }

    /** Mounts the routes and, on the caller's (the server's) context, resumes the transfers left in progress. */
    void start(Router router) {
        router.post("/payout/v1/transfers").handler(ctx -> faulted(SEND, ctx, () -> send(PspSimulator.jsonBody(ctx))));
        router.get("/payout/v1/transfers/:referenceId").handler(ctx -> faulted(STATUS, ctx, () -> {
            SimTransfer t = transfers.get(ctx.pathParam("referenceId"));
            return Future.succeededFuture(t == null ? unknown() : new Reply(200, t.answer()));
        }));
        router.get("/payout/v1/report").handler(this::report);
        router.get("/sim/payouts/:referenceId").handler(ctx -> {
            SimTransfer t = transfers.get(ctx.pathParam("referenceId"));
            Reply reply = t == null ? unknown() : new Reply(200, t.toJson());
            PspSimulator.sendJson(ctx, reply.status(), reply.body());
        });
        // A restart completes at once what was due while the simulator was down, and the rest when due.
        transfers.values().stream().filter(t -> t.state == State.IN_PROGRESS).forEach(this::schedule);
    }

    /** POSTs that named a reference (a 409 conflict too; a 400 names none), since the data directory was made. */
    long sends() {
        return sends;
    }

    long transfers() {
        return transfers.size();
    }

    private void faulted(String endpoint, RoutingContext ctx, Supplier<Future<Reply>> handler) {
        FaultedCall.answer(vertx, faults.get().forEndpoint(endpoint), rate -> random.nextDouble() < rate, ctx, handler);
    }

    private Future<Reply> send(JsonObject body) {
        if (body == null) {
            return bad("the body must be a JSON object");
        }
        if (!(body.getValue("referenceId") instanceof String referenceId) || !REFERENCE_ID.matcher(referenceId).matches()) {
            return bad("referenceId must be 1.." + REFERENCE_ID_LENGTH_MAX + " of [A-Za-z0-9._:-]");
        }
        if (!(body.getValue("iban") instanceof String iban) || !IBAN.matcher(iban).matches()) {
            return bad("iban must be IR and 24 digits");
        }
        Long amount = PspSimulator.integer(body, "amount");
        if (amount == null || amount < 1 || amount > PspSimulator.AMOUNT_MAX_RIALS) {
            return bad("amount must be an integer in 1.." + PspSimulator.AMOUNT_MAX_RIALS + " rials");
        }
        Object description = body.getValue("description");
        if (description != null && !(description instanceof String d && d.length() <= DESCRIPTION_LENGTH_MAX)) {
            return bad("description must be a string of at most " + DESCRIPTION_LENGTH_MAX + " characters");
        }
        Object callbackUrl = body.getValue("callbackUrl");
        if (callbackUrl != null && !(callbackUrl instanceof String u && u.length() <= PspSimulator.CALLBACK_URL_LENGTH_MAX
                && (u.startsWith("http://") || u.startsWith("https://")))) {
            return bad("callbackUrl must be an http(s) URL of at most " + PspSimulator.CALLBACK_URL_LENGTH_MAX + " characters");
        }
        SimTransfer known = transfers.get(referenceId);
        if (known != null) {
            // Idempotent by reference: the transfer it already has, never a second; another payee or amount is a conflict.
            known.sends++;
            sends++;
            Reply reply = known.iban.equals(iban) && known.amountRials == amount
                    ? new Reply(200, known.answer()) : new Reply(409, error("reference_conflict"));
            return save(known).map(reply);
        }
        if (transfers.size() >= TRANSFERS_MAX) {
            return Future.succeededFuture(new Reply(503, error("too many transfers in the simulator")));
        }
        Instant now = Instant.now();
        PayoutFaults f = faults.get().payouts();
        SimTransfer t = new SimTransfer(referenceId, "TR" + (TRANSFER_ID_BASE + transfers.size() + 1), iban, amount,
                (String) description, (String) callbackUrl, now, now.plusMillis(f.completionDelayMillis()), f.rejection(iban));
        transfers.put(referenceId, t);
        sends++;
        return save(t).map(v -> {
            Reply reply = new Reply(200, t.answer());
            schedule(t);
            return reply;
        });
    }

    /** Completes the transfer when it is due; at the earliest right after the answer now being sent. */
    private void schedule(SimTransfer t) {
        long millis = Duration.between(Instant.now(), t.completeAt).toMillis();
        // The timer runs on the monotonic clock and the millis are truncated: it may wake before the wall clock's due
        // time, and then waits the rest, so a transfer never completes before its completeAt.
        vertx.setTimer(Math.max(1, millis), id -> {
            if (Instant.now().isBefore(t.completeAt)) {
                schedule(t);
            } else {
                complete(t);
            }
        });
    }

    private void complete(SimTransfer t) {
        t.complete(Instant.now());
        // Decided with the completion, under the faults of that moment, not when the save is done.
        boolean lost = random.nextDouble() < faults.get().lostCallbackRate();
        save(t).onSuccess(v -> {
            if (!lost) {
                callback(t);
            }
        }).onFailure(e ->
                // Not on disk: a restart finds it in progress and completes it again, as a provider would after a crash.
                LOG.warn("payout transfer {} completed but not saved", t.referenceId, e));
    }

    /** Tells the sender, once and best effort: a lost or failed callback is learned by status. */
    private void callback(SimTransfer t) {
        if (t.callbackUrl == null) {
            return;
        }
        JsonObject body = new JsonObject().put("referenceId", t.referenceId).put("state", t.state.name());
        try {
            client.postAbs(t.callbackUrl).timeout(PspSimulator.CALLBACK_TIMEOUT_MILLIS).sendJsonObject(body)
                    .onFailure(e -> LOG.debug("payout callback for {} failed", t.referenceId, e));
        } catch (RuntimeException e) {
            LOG.debug("payout callback URL of {} is unusable", t.referenceId, e);
        }
    }

    private void report(RoutingContext ctx) {
        LocalDate date;
        try {
            date = LocalDate.parse(String.valueOf(ctx.queryParams().get("date")));
        } catch (DateTimeParseException e) {
            PspSimulator.sendJson(ctx, 400, error("date must be YYYY-MM-DD"));
            return;
        }
        List<PayoutReportCsv.Row> rows = transfers.values().stream()
                .filter(t -> t.completedAt != null && t.completedAt.atZone(ZoneOffset.UTC).toLocalDate().equals(date))
                .sorted(Comparator.comparing((SimTransfer t) -> t.completedAt).thenComparing(t -> t.referenceId))
                .map(t -> new PayoutReportCsv.Row(t.referenceId, t.transferId, t.iban, t.amountRials,
                        PayoutProvider.State.valueOf(t.state.name()), t.completedAt))
                .toList();
        ctx.response().putHeader("content-type", "text/csv; charset=utf-8").end(PayoutReportCsv.write(rows));
    }

    private Future<Void> save(SimTransfer t) {
        t.checkInvariants();
        return persist.apply(t.toJson());
    }

    private static Future<Reply> bad(String message) {
        return Future.succeededFuture(new Reply(400, error(message)));
    }

    private static Reply unknown() {
        return new Reply(404, error("unknown_reference"));
    }

    private static JsonObject error(String message) {
        return new JsonObject().put("error", message);
    }
}
