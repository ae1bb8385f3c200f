package taraz.topup;

import java.util.Locale;

/**
 * Who drove a top-up's step: recorded with each state change and each call to the bank, so support can tell a credit
 * the callback made from one the sweeper, recovery or a reconcile run made after the callback was lost.
 */
public enum Driver {
    /** The API request that opened the top-up. */
    REQUEST,
    /** The cardholder's browser, back from the bank. */
    CALLBACK,
    /** The node's own round over open top-ups ({@link TopupSweeper}). */
    SWEEPER,
    /** Boot recovery, from a PENDING journal record. */
    RECOVERY,
    /** {@code taraz reconcile --apply}. */
    RECONCILE,
    /** Support's console ("ask the bank now"). */
    CONSOLE;

    /** The name the API shows: {@code sweeper}. */
    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
