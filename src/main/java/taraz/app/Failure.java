package taraz.app;

/**
 * A failure with a stable code that callers see: {@code {"error": {"code", "message"}}} with
 * {@link #status}. Business code throws it for rule violations (a 4xx); anything else that
 * escapes a request is an internal error (a 5xx) and never leaves money half-moved, because
 * every money movement is one database transaction.
 */
public final class Failure extends RuntimeException {

    private final int status;
    private final String code;

    public Failure(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    public int status() { return status; }

    /** The body a client gets: {@code {"error": {"code", "message"}}}. */
    public io.vertx.core.json.JsonObject body() {
        return new io.vertx.core.json.JsonObject().put("error", new io.vertx.core.json.JsonObject()
                .put("code", code).put("message", getMessage()));
    }

    public String code() { return code; }

    public static Failure badRequest(String code, String message) { return new Failure(400, code, message); }
    public static Failure notFound(String code, String message) { return new Failure(404, code, message); }
    public static Failure conflict(String code, String message) { return new Failure(409, code, message); }
    public static Failure unprocessable(String code, String message) { return new Failure(422, code, message); }

    public static Failure insufficientFunds(String accountId) {
        return new Failure(402, "insufficient_funds", "wallet " + accountId + " has not enough available balance");
    }

    public static Failure walletNotFound(String walletId) {
        return notFound("wallet_not_found", "no wallet " + walletId);
    }
}
