package taraz.http;

import io.vertx.core.json.JsonObject;
import taraz.domain.DomainError;
import taraz.ledger.LedgerCommand;

/**
 * An error answer: {@code {"error": {"code", "message"}}} with {@link #status}. The request
 * pipeline throws it for what it refuses itself (a malformed body, a missing key); a flow's
 * {@link DomainError} becomes one through {@link #of}, the one place where a domain code gets its
 * HTTP status.
 */
public final class Failure extends RuntimeException {

    private final int status;
    private final String code;

    public Failure(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    /** A refusal of the domain as the client sees it: the code unchanged, the status of its kind. */
    public static Failure of(DomainError refusal) {
        int status = switch (refusal.code()) {
            case WALLET_NOT_FOUND, TRIP_NOT_FOUND, TOPUP_NOT_FOUND, PAYOUT_NOT_FOUND, REFUND_NOT_FOUND -> 404;
            case INVALID_IBAN -> 400;
            case WALLET_ALREADY_EXISTS, TRANSFER_CONFLICT, REQUEST_IN_PROGRESS, TRIP_ALREADY_HELD, TRIP_PASSENGER_MISMATCH,
                 TRIP_ALREADY_SETTLED, TRIP_VOIDED, TRIP_EXPIRED, TRIP_NOT_SETTLED, REFUND_EXCEEDS_TOTAL, TOPUP_NOT_REFUNDABLE -> 409;
            case WALLET_KIND_MISMATCH, IDEMPOTENCY_KEY_REUSED, INVALID_COMMISSION, SAME_WALLET -> 422;
            case INSUFFICIENT_FUNDS -> 402;
            case PSP_UNAVAILABLE -> 502;
        };
        return new Failure(status, refusal.code().apiName(), refusal.getMessage());
    }

    /** The answer for what escaped a step: a refusal of the pipeline or of the domain; null for anything else (a 5xx). */
    static Failure from(Throwable cause) {
        if (cause instanceof Failure failure) {
            return failure;
        }
        return cause instanceof DomainError refusal ? of(refusal) : null;
    }

    /** What the ledger writer stores under a request's key when a rule refuses its command. */
    public static LedgerCommand.Answer answer(DomainError refusal) {
        Failure failure = of(refusal);
        return new LedgerCommand.Answer(failure.status(), failure.body().encode(), false);
    }

    public int status() { return status; }

    /** The body a client gets: {@code {"error": {"code", "message"}}}. */
    public JsonObject body() {
        return new JsonObject().put("error", new JsonObject().put("code", code).put("message", getMessage()));
    }

    public String code() { return code; }

    public static Failure badRequest(String code, String message) { return new Failure(400, code, message); }
    public static Failure notFound(String code, String message) { return new Failure(404, code, message); }
}
