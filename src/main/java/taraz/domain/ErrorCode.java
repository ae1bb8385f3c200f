package taraz.domain;

import java.util.Locale;

/**
 * Every rule a flow or the ledger can refuse a step by: a closed set, so the HTTP layer maps each
 * one to a status with a switch the compiler checks, in one place. The API's
 * {@code error.code} is {@link #apiName()}, the constant's name in lower case; renaming a constant
 * changes the contract.
 */
public enum ErrorCode {
    WALLET_NOT_FOUND,
    WALLET_ALREADY_EXISTS,
    WALLET_KIND_MISMATCH,
    INSUFFICIENT_FUNDS,
    TRANSFER_CONFLICT,
    IDEMPOTENCY_KEY_REUSED,
    REQUEST_IN_PROGRESS,
    INVALID_COMMISSION,
    SAME_WALLET,
    TRIP_NOT_FOUND,
    TRIP_ALREADY_HELD,
    TRIP_PASSENGER_MISMATCH,
    TRIP_ALREADY_SETTLED,
    TRIP_VOIDED,
    TRIP_EXPIRED,
    TRIP_NOT_SETTLED,
    REFUND_EXCEEDS_TOTAL,
    TOPUP_NOT_FOUND,
    PSP_UNAVAILABLE,
    INVALID_IBAN,
    PAYOUT_NOT_FOUND,
    /** Only a CREDITED top-up can be refunded. */
    TOPUP_NOT_REFUNDABLE,
    REFUND_NOT_FOUND;

    /** The code a client reads in {@code {"error": {"code": ...}}}, and the payments metric's outcome. */
    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
