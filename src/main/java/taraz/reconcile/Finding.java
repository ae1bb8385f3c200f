package taraz.reconcile;

import io.vertx.core.json.JsonObject;

import java.util.Locale;

/**
 * One discrepancy: its kind, a stable key (the same fault found by any run has the same key, and
 * a ledger correction for it is the transfer {@code reconcile:<key>}), the payment and the wallet
 * it concerns, the amount, what happened in plain words, and the plan to fix it.
 *
 * <p>The plan's {@code do}: {@code credit} (finish a top-up through its own credit phase),
 * {@code advance} (drive a top-up on through its flow), {@code expire} (end a top-up the bank does
 * not know), {@code correction} (a transfer of {@code legs} against the corrections account),
 * {@code reverse} (return a duplicate payment at the bank inside its window, else {@code legs}),
 * {@code repair_balance}, {@code expire_trip}, {@code expire_hold}, {@code recheck} (fixed by the
 * others), or {@code manual} (support must decide).
 */
public record Finding(Kind kind, String key, String flow, String paymentId, String walletId, long amountRials,
                      String story, JsonObject plan) {

    public enum Kind {
        PAID_NOT_CREDITED, CREDITED_NOT_PAID, DOUBLE_CREDIT, DOUBLE_CHARGE, DRIVER_NOT_CREDITED, COMMISSION_MISSING,
        BALANCE_DRIFT, LEDGER_IMBALANCE, HOLD_EXPIRED_NOT_VOIDED, STUCK_PAYMENT, AMOUNT_MISMATCH;

        public String apiName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Kind of(String apiName) {
            return valueOf(apiName.toUpperCase(Locale.ROOT));
        }
    }

    public static String rials(long amount) {
        return String.format(Locale.ROOT, "%,d rials", amount);
    }
}
