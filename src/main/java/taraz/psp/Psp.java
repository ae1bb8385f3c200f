package taraz.psp;

import io.vertx.core.Future;

import java.util.List;

/**
 * The bank gateway (PSP) port: what a top-up needs from an internet payment gateway. Amounts are
 * Rials. A protocol answer (verified, failed, amount mismatch...) is a result; a transport
 * failure (unreachable, 5xx, timeout, garbage) fails the future with
 * {@link PspUnavailableException}, which the flow retries inside the bank's window.
 */
public interface Psp {

    /**
     * Zarinpal's window, 30 minutes: an unverified payment goes back to the card, and a verified one can no longer be
     * reversed, this long after it was made. The setting {@code pspWindowSeconds} and the simulator's fault of that
     * name default to it.
     */
    long WINDOW_SECONDS = 1800;

    /** The gateway's name as stored on a top-up. */
    String name();

    /** Opens a payment; returns its authority. Not retried: a lost answer leaves an unused authority. */
    Future<String> request(long amountRials, String callbackUrl, String description);

    /** Where the cardholder is sent to pay. */
    String paymentUrl(String authority);

    /** Server-to-server verification of a payment, with the amount we expect. */
    Future<Verification> verify(String authority, long amountRials);

    /** The payment's status at the bank. */
    Future<Inquiry> inquiry(String authority);

    /** Authorities paid but not yet verified (at most the latest 100, as the protocol gives). */
    Future<List<String>> unverified();

    /** Returns a payment to the cardholder; true when the bank reversed it. */
    Future<Boolean> reverse(String authority);

    /**
     * The bank's refund API: sends {@code amountRials} of a verified payment back to its card, in part or whole, with
     * our {@code description} (which names our refund, so {@link #refunds} can find it). Not retried: a repeat could
     * refund twice; after no answer, the refund's fate is learned from {@link #refunds}.
     */
    Future<RefundAnswer> refund(String authority, long amountRials, String description);

    /** The refunds the bank has made of a payment (its timeline), each with the description it was sent with. */
    Future<List<BankRefund>> refunds(String authority);

    /** One refund at the bank: its id there, its amount, our description, and the bank's status word. */
    record BankRefund(String id, long amountRials, String description, String status) {}

    /** The bank's answer to a refund: the refund it made, or its refusal (an error code) and none. */
    record RefundAnswer(BankRefund refund, String refusal) {
        public RefundAnswer {
            if ((refund == null) == (refusal == null)) {
                throw new IllegalArgumentException("a refund answer is a refund or a refusal");
            }
        }
    }

    /** The bank's answer to an inquiry; each port maps its bank's words to these. */
    enum Inquiry {
        /** Opened, not paid (yet). */
        IN_BANK,
        /** Paid by the cardholder, not verified. */
        PAID,
        /** Paid and verified. */
        VERIFIED,
        /** The cardholder did not pay. */
        FAILED,
        /** Paid, then returned to the cardholder. */
        REVERSED,
        /** The bank did not say (an unknown authority, or a word we do not know). */
        UNKNOWN;

        /** The bank has the money: verify it, never close it. */
        public boolean paid() {
            return this == PAID || this == VERIFIED;
        }
    }

    /** The answer to a verify. */
    record Verification(Outcome outcome, int code, String refId, String cardPan) {
        public enum Outcome {
            /** Code 100, or 101 (verified before: a success, not a failure). */
            VERIFIED,
            /** -50: the bank's amount is not ours. Never a credit; an alert. */
            AMOUNT_MISMATCH,
            /** The bank says this payment did not succeed (or the authority is unknown, or a code we do not know). */
            FAILED
        }
    }
}
