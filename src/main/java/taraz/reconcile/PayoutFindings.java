package taraz.reconcile;

import taraz.psp.PayoutProvider;
import taraz.psp.PayoutReportCsv;
import taraz.reconcile.Finding.Kind;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The payout provider's daily reports against our payouts:
 * <ul>
 *   <li>paid at the provider, FAILED here: the driver has the money twice (at the bank, and back in the wallet); fixed
 *       by the payout flow's own post, from the wallet ({@link Plan.PostPayout});
 *   <li>paid twice at the provider (two PAID transfers under one reference): support recovers the second from the
 *       driver;
 *   <li>PAID here, and the provider says FAILED, or its report of the day we recorded it paid has no such transfer:
 *       the wallet was debited for money that did not leave; support checks with the provider.
 * </ul>
 * The days judged for missing transfers are the days the reports cover (their rows' completion days).
 */
final class PayoutFindings {

    private final Connection db;
    private final Detector.Sink sink;

    PayoutFindings(Connection db, Detector.Sink sink) {
        this.db = db;
        this.sink = sink;
    }

    /** Our payout as stored. */
    private record Ours(String walletId, long amountRials, String state) {}

    void detect(List<PayoutReportCsv.Row> rows) throws SQLException {
        Map<String, List<PayoutReportCsv.Row>> byReference = new LinkedHashMap<>();
        Set<LocalDate> days = new TreeSet<>();
        for (PayoutReportCsv.Row row : rows) {
            byReference.computeIfAbsent(row.referenceId(), r -> new ArrayList<>()).add(row);
            days.add(row.completedAt().atZone(ZoneOffset.UTC).toLocalDate());
        }
        Map<String, Ours> ours = ours(byReference.keySet());
        for (Map.Entry<String, List<PayoutReportCsv.Row>> e : byReference.entrySet()) {
            String payoutId = e.getKey();
            Ours payout = ours.get(payoutId);
            List<PayoutReportCsv.Row> paid = e.getValue().stream().filter(r -> r.state() == PayoutProvider.State.PAID).toList();
            if (payout == null) {
                continue;
            }
            if (paid.size() > 1) {
                long extra = paid.stream().skip(1).mapToLong(PayoutReportCsv.Row::amountRials).sum();
                sink.accept(Finding.ofPayment(Kind.PAYOUT_PAID_TWICE, Finding.PAYOUT, payoutId, payout.walletId(), extra,
                        "The payout provider paid payout " + payoutId + " " + paid.size() + " times (transfers "
                                + String.join(", ", paid.stream().map(PayoutReportCsv.Row::transferId).toList()) + "): "
                                + Finding.rials(extra) + " more than the driver cashed out.", new Plan.Manual()));
            }
            if (!paid.isEmpty() && payout.state().equals("FAILED")) {
                sink.accept(Finding.ofPayment(Kind.PAYOUT_PAID_NOT_RECORDED, Finding.PAYOUT, payoutId, payout.walletId(),
                        payout.amountRials(), "The payout provider paid payout " + payoutId + " of "
                                + Finding.rials(payout.amountRials()) + " (transfer " + paid.get(0).transferId()
                                + "), but taraz recorded it FAILED and gave the money back to the wallet.",
                        new Plan.PostPayout(payoutId)));
            }
            if (paid.isEmpty() && payout.state().equals("PAID")) {
                sink.accept(Finding.ofPayment(Kind.PAYOUT_NOT_PAID, Finding.PAYOUT, payoutId, payout.walletId(),
                        payout.amountRials(), "taraz recorded payout " + payoutId + " of " + Finding.rials(payout.amountRials())
                                + " PAID and debited the wallet, but the payout provider reports it FAILED.", new Plan.Manual()));
            }
        }
        missing(byReference.keySet(), days);
    }

    /** Our PAID payouts recorded on a day the reports cover, which no report lists. */
    private void missing(Set<String> listed, Set<LocalDate> days) throws SQLException {
        if (days.isEmpty()) {
            return;
        }
        try (PreparedStatement q = db.prepareStatement("SELECT payout_id, wallet_id, amount_rials FROM payouts "
                + "WHERE state = 'PAID' AND (updated_at AT TIME ZONE 'UTC')::date = ANY(?) AND NOT (payout_id = ANY(?)) "
                + "ORDER BY payout_id")) {
            q.setArray(1, db.createArrayOf("date", days.toArray()));
            q.setArray(2, db.createArrayOf("text", listed.toArray()));
            try (ResultSet r = q.executeQuery()) {
                while (r.next()) {
                    String payoutId = r.getString(1);
                    sink.accept(Finding.ofPayment(Kind.PAYOUT_NOT_PAID, Finding.PAYOUT, payoutId, r.getString(2), r.getLong(3),
                            "taraz recorded payout " + payoutId + " of " + Finding.rials(r.getLong(3)) + " PAID and debited "
                                    + "the wallet, but the payout provider's report of that day does not list it.",
                            new Plan.Manual()));
                }
            }
        }
    }

    private Map<String, Ours> ours(Set<String> references) throws SQLException {
        Map<String, Ours> ours = new HashMap<>();
        try (PreparedStatement q = db.prepareStatement("SELECT payout_id, wallet_id, amount_rials, state FROM payouts "
                + "WHERE payout_id = ANY(?)")) {
            Array ids = db.createArrayOf("text", references.toArray());
            q.setArray(1, ids);
            try (ResultSet r = q.executeQuery()) {
                while (r.next()) {
                    ours.put(r.getString(1), new Ours(r.getString(2), r.getLong(3), r.getString(4)));
                }
            }
        }
        return ours;
    }
}
