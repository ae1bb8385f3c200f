package taraz.reconcile;

import taraz.psp.Psp;
import taraz.reconcile.Finding.Kind;
import taraz.topup.Refund;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Top-up refunds that have ended here against the bank's own answers (its refund list for the payment, its inquiry
 * for a reverse). Each finding goes to support, which moves the money by an adjustment after checking:
 * <ul>
 *   <li>REFUNDED here, and the bank has no refund under our reference (no reverse for a reverse): the wallet was
 *       debited for money that never reached the card;
 *   <li>FAILED here (the money back in the wallet), and the bank has the refund after all: the customer has it twice;
 *   <li>the bank made one refund of ours more than once.
 * </ul>
 * A bank that does not answer leaves its refunds unjudged in this run (the count is in the run's summary).
 */
final class RefundFindings {

    private final Connection db;
    private final Detector.Sink sink;
    private final Psp psp;
    private final long timeoutMillis;

    RefundFindings(Connection db, Detector.Sink sink, Psp psp, long timeoutMillis) {
        this.db = db;
        this.sink = sink;
        this.psp = psp;
        this.timeoutMillis = timeoutMillis;
    }

    private record Ours(String refundId, String walletId, long amountRials, String method, String state) {}

    /** Judges every ended refund of the payments that have one; returns how many payments the bank did not answer for. */
    int detect() throws SQLException {
        Map<String, List<Ours>> byAuthority = new LinkedHashMap<>();
        try (PreparedStatement q = db.prepareStatement("SELECT t.authority, r.refund_id, r.wallet_id, r.amount_rials, r.method, "
                + "r.state FROM topup_refunds r JOIN topups t ON t.topup_id = r.topup_id "
                + "WHERE r.state IN ('" + Refund.State.REFUNDED + "', '" + Refund.State.FAILED + "') ORDER BY r.refund_id");
             ResultSet r = q.executeQuery()) {
            while (r.next()) {
                byAuthority.computeIfAbsent(r.getString(1), a -> new ArrayList<>())
                        .add(new Ours(r.getString(2), r.getString(3), r.getLong(4), r.getString(5), r.getString(6)));
            }
        }
        int unanswered = 0;
        for (Map.Entry<String, List<Ours>> e : byAuthority.entrySet()) {
            List<Psp.BankRefund> atBank;
            Psp.Inquiry inquiry;
            try {
                atBank = Corrector.await(psp.refunds(e.getKey()), timeoutMillis);
                inquiry = e.getValue().stream().anyMatch(o -> o.method().equals(Refund.Method.REVERSE.name()))
                        ? Corrector.await(psp.inquiry(e.getKey()), timeoutMillis) : Psp.Inquiry.UNKNOWN;
            } catch (Exception noAnswer) {
                unanswered++;
                continue;
            }
            for (Ours ours : e.getValue()) {
                judge(ours, atBank, inquiry);
            }
        }
        return unanswered;
    }

    private void judge(Ours ours, List<Psp.BankRefund> atBank, Psp.Inquiry inquiry) throws SQLException {
        String description = Refund.bankDescription(ours.refundId());
        long made = ours.method().equals(Refund.Method.REVERSE.name())
                ? (inquiry == Psp.Inquiry.REVERSED ? 1 : 0)
                : atBank.stream().filter(b -> description.equals(b.description())).count();
        boolean refunded = ours.state().equals(Refund.State.REFUNDED.name());
        String what = "Refund " + ours.refundId() + " of " + Finding.rials(ours.amountRials()) + " (" + ours.method().toLowerCase()
                + ")";
        if (refunded && made == 0) {
            sink.accept(Finding.ofPayment(Kind.REFUND_NOT_AT_BANK, Finding.REFUND, ours.refundId(), ours.walletId(),
                    ours.amountRials(), what + " is REFUNDED here and the wallet was debited, but the bank has no such "
                            + "refund: the card did not get the money.", new Plan.Manual()));
        } else if (!refunded && made > 0) {
            sink.accept(Finding.ofPayment(Kind.REFUND_MADE_BUT_FAILED, Finding.REFUND, ours.refundId(), ours.walletId(),
                    ours.amountRials(), what + " is FAILED here and the money went back to the wallet, but the bank made "
                            + "it: the customer has it twice.", new Plan.Manual()));
        }
        if (made > 1) {
            sink.accept(Finding.ofPayment(Kind.REFUND_MADE_TWICE, Finding.REFUND, ours.refundId(), ours.walletId(),
                    (made - 1) * ours.amountRials(), what + " was made " + made + " times at the bank.", new Plan.Manual()));
        }
    }
}
