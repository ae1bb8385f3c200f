package taraz.trip;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;

import java.math.BigInteger;
import java.time.OffsetDateTime;

/**
 * One refund of a settled trip's fare to its passenger: {@code driverRials} taken from the driver, {@code platformRials}
 * from the platform's commission, {@code driverShortfallRials} of the driver's part that their available balance did
 * not cover (they went below zero by that much).
 */
public record TripRefund(String refundId, String tripId, long amountRials, long driverRials, long platformRials,
                         long driverShortfallRials, String reason, String ticket, String transferId,
                         OffsetDateTime createdAt) {

    /** A refund's journal steps (flow {@code trip_refund}): PENDING REFUNDING, then TERMINAL REFUNDED or REJECTED. */
    public enum Step {
        REFUNDING, REFUNDED, REJECTED
    }

    static final String COLUMNS = "refund_id, trip_id, amount_rials, driver_rials, platform_rials, driver_shortfall_rials, "
            + "reason, ticket, transfer_id, created_at";

    public TripRefund {
        if (amountRials <= 0 || driverRials < 0 || platformRials < 0 || driverRials + platformRials != amountRials
                || driverShortfallRials < 0 || driverShortfallRials > driverRials) {
            throw new IllegalStateException("refund " + refundId + " of trip " + tripId + " does not add up: " + amountRials
                    + " = driver " + driverRials + " + platform " + platformRials + ", shortfall " + driverShortfallRials);
        }
    }

    static TripRefund from(Row row) {
        return new TripRefund(row.getString("refund_id"), row.getString("trip_id"), row.getLong("amount_rials"),
                row.getLong("driver_rials"), row.getLong("platform_rials"), row.getLong("driver_shortfall_rials"),
                row.getString("reason"), row.getString("ticket"), row.getString("transfer_id"),
                row.getOffsetDateTime("created_at"));
    }

    public static String transferId(String tripId, String refundId) {
        return "trip:" + tripId + ":refund:" + refundId;
    }

    /**
     * The driver's part of the first {@code refundedRials} of a fare refunded: floor(refunded × (fare − commission) /
     * fare), in exact integer arithmetic. One refund takes from the driver this of the trip's refunded total after it
     * less this of the total before it, and the platform the rest: so the platform takes each rounding remainder, and
     * refunds of the whole fare, in any number of parts, take back exactly the driver's share and the commission.
     */
    static long driverPart(long refundedRials, long fareRials, long commissionRials) {
        return BigInteger.valueOf(refundedRials).multiply(BigInteger.valueOf(fareRials - commissionRials))
                .divide(BigInteger.valueOf(fareRials)).longValueExact();
    }

    JsonObject toJson() {
        return new JsonObject()
                .put("refundId", refundId)
                .put("tripId", tripId)
                .put("amount", amountRials)
                .put("driverRials", driverRials)
                .put("platformRials", platformRials)
                .put("driverShortfallRials", driverShortfallRials)
                .put("reason", reason)
                .put("ticket", ticket)
                .put("transferId", transferId)
                .put("createdAt", createdAt.toInstant().toString());
    }
}
