package taraz.reconcile;

import java.util.Locale;

/**
 * One discrepancy: its kind, a stable key (the same fault found by any run has the same key, and
 * a ledger correction for it is the transfer {@code reconcile:<key>}), the payment and the wallet
 * it concerns, the amount, what happened in plain words, and the plan to fix it.
 *
 * <p>The plan is one of the {@link Plan} records.
 *
 * <p>Payment ids are namespaced by flow: a trip's id is chosen by its caller, so a trip can carry
 * the id of a top-up. A payment's finding key is {@code <kind>:<flow>:<payment id>} and its
 * correction transfer has the kind {@code <flow>_correction}, so the findings, corrections and
 * action rows of two flows never share a key, and each flow's money is judged on its own
 * transfers ({@link #flowOfKind}).
 */
public record Finding(Kind kind, String key, String flow, String paymentId, String walletId, long amountRials,
                      String story, Plan plan) {

    /** The flows whose payments findings name; {@code bank}: a bank payment (its authority) with no top-up of ours. */
    public static final String TOPUP = "topup";
    public static final String TRIP = "trip";
    public static final String BANK = "bank";
    public static final String PAYOUT = "payout";
    public static final String REFUND = "refund";

    /**
     * The flow of a transfer, in SQL over its {@code kind} column: a kind is {@code <flow>_<step>}
     * ({@code topup_credit}, {@code trip_settle}, {@code trip_correction}; the old server's
     * {@code trip_charge}), the one place reconcile tells a payment's flow from its money.
     */
    static String flowOfKind(String kindColumn) {
        return "split_part(" + kindColumn + ", '_', 1)";
    }

    /** A finding about one payment of one flow, keyed {@code <kind>:<flow>:<payment id>}. */
    public static Finding ofPayment(Kind kind, String flow, String paymentId, String walletId, long amountRials,
                                    String story, Plan plan) {
        return new Finding(kind, key(kind, flow, paymentId), flow, paymentId, walletId, amountRials, story, plan);
    }

    public static String key(Kind kind, String flow, String paymentId) {
        return kind.apiName() + ":" + flow + ":" + paymentId;
    }

    public enum Kind {
        PAID_NOT_CREDITED, CREDITED_NOT_PAID, DOUBLE_CREDIT, DOUBLE_CHARGE, DRIVER_NOT_CREDITED, COMMISSION_MISSING,
        BALANCE_DRIFT, LEDGER_IMBALANCE, HOLD_EXPIRED_NOT_VOIDED, STUCK_PAYMENT, AMOUNT_MISMATCH,
        PAYOUT_PAID_NOT_RECORDED, PAYOUT_PAID_TWICE, PAYOUT_NOT_PAID,
        REFUND_NOT_AT_BANK, REFUND_MADE_BUT_FAILED, REFUND_MADE_TWICE;

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
