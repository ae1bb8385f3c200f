package taraz.http;

import taraz.admin.AdjustmentService;
import taraz.payout.Payout;
import taraz.topup.Topup;
import taraz.trip.Trip;
import taraz.trip.TripRefund;
import taraz.trip.TripService;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The states {@code GET /v1/admin/payments?state=} accepts: every state a payment of any flow the listing shows can
 * be in, from each flow's own enum, matched in any case.
 */
final class PaymentStates {

    static final Set<String> ALL = all();

    private PaymentStates() {
    }

    /** {@code state} as the listing stores it (upper case), or the contract's 400 when no flow has such a state. */
    static String parse(String state) {
        if (state == null) {
            return null;
        }
        String upper = state.toUpperCase(Locale.ROOT);
        if (!ALL.contains(upper)) {
            throw Failure.badRequest("invalid_query", "state must be one of " + ALL + " (any case), got '" + state + "'");
        }
        return upper;
    }

    private static Set<String> all() {
        // The listing names the trip refund's flow and state itself (admin may not import trip): the pair must agree.
        if (!AdjustmentService.TRIP_REFUND_FLOW.equals(TripService.REFUND_FLOW)
                || !AdjustmentService.REFUNDED.equals(TripRefund.Step.REFUNDED.name())) {
            throw new IllegalStateException("the payments listing's trip refunds (" + AdjustmentService.TRIP_REFUND_FLOW + " "
                    + AdjustmentService.REFUNDED + ") are not the trip flow's (" + TripService.REFUND_FLOW + " "
                    + TripRefund.Step.REFUNDED + ")");
        }
        Set<String> states = new TreeSet<>();
        Stream.of(Trip.State.values()).filter(s -> s != Trip.State.NEW).forEach(s -> states.add(s.name()));
        Arrays.stream(Topup.State.values()).forEach(s -> states.add(s.name()));
        Arrays.stream(Payout.State.values()).forEach(s -> states.add(s.name()));
        states.add(AdjustmentService.APPLIED);
        states.add(AdjustmentService.REFUNDED);
        return Set.copyOf(states);
    }
}
