package taraz.domain;

/**
 * A step refused by a rule of the domain (not enough money, a trip already settled, the bank
 * gateway not answering): a {@link ErrorCode} and a message for the caller, and nothing about
 * how it is answered. Anything else that escapes a step is an internal error, which never leaves
 * money half-moved, because every money movement is one database transaction.
 */
public final class DomainError extends RuntimeException {

    private final ErrorCode code;

    public DomainError(ErrorCode code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }

    public static DomainError insufficientFunds(String accountId) {
        return new DomainError(ErrorCode.INSUFFICIENT_FUNDS, "wallet " + accountId + " has not enough available balance");
    }

    public static DomainError walletNotFound(String walletId) {
        return new DomainError(ErrorCode.WALLET_NOT_FOUND, "no wallet " + walletId);
    }

    public static DomainError idempotencyKeyReused() {
        return new DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED, "this Idempotency-Key was used for a different request");
    }

    public static DomainError requestInProgress() {
        return new DomainError(ErrorCode.REQUEST_IN_PROGRESS, "a request with this Idempotency-Key is still running");
    }
}
