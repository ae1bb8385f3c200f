package taraz.psp;

import io.vertx.core.Future;

/**
 * The payout provider port: bank transfers to drivers' IBANs (a PAYA or SATNA transfer, as
 * Iran's payout providers offer them), by our reference id. Amounts are Rials. A protocol answer
 * is a {@link Transfer}; a transport failure (unreachable, 5xx, timeout, garbage) fails the future
 * with {@link PspUnavailableException}, and the transfer's fate is then unknown: the caller learns
 * it by {@link #status}, never by sending again blindly.
 */
public interface PayoutProvider {

    /** The provider's name as stored on a payout. */
    String name();

    /**
     * Asks for a transfer. Idempotent by {@code referenceId}: the provider answers a reference it
     * has with the transfer it already has, and never makes a second one. A refusal it knows at
     * once (an IBAN the bank does not know, a closed account) is a {@link State#FAILED} transfer.
     * The provider calls {@code callbackUrl} when the transfer completes.
     */
    Future<Transfer> send(String referenceId, String iban, long amountRials, String callbackUrl);

    /** The transfer as the provider knows it; {@link State#UNKNOWN} when it never received this reference. */
    Future<Transfer> status(String referenceId);

    /** Where a transfer is at the provider. */
    enum State {
        /** Received, not completed yet. */
        IN_PROGRESS,
        /** The money reached the driver's account. */
        PAID,
        /** The transfer was refused or returned; no money left. */
        FAILED,
        /** The provider has no transfer under this reference: it never arrived. */
        UNKNOWN
    }

    /** A transfer: our reference, its state, why it failed (the provider's word), and the provider's own id. */
    record Transfer(String referenceId, State state, String failureReason, String providerId) {}
}
