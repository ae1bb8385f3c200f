package taraz.ledger;

import java.util.Comparator;
import java.util.List;

/**
 * An immutable, atomic, multi-leg movement of money. Its {@code id} is deterministic for the
 * payment step it belongs to ({@code trip:T:settle}), so running a step twice posts once.
 * The legs sum to zero: checked here before the insert, and by the database at commit.
 */
public record Transfer(String id, String kind, String paymentId, String reason, List<Leg> legs) {

    public static final int LEGS_MAX = 16;

    public Transfer {
        if (id == null || id.isBlank() || kind == null || kind.isBlank()) {
            throw new IllegalArgumentException("transfer needs an id and a kind");
        }
        if (legs.size() < 2 || legs.size() > LEGS_MAX) {
            throw new IllegalArgumentException("transfer " + id + " has " + legs.size() + " legs");
        }
        long sum = 0;
        long credits = 0;
        for (Leg leg : legs) {
            sum = Math.addExact(sum, leg.amountRials());
            if (leg.amountRials() > 0) {
                credits = Math.addExact(credits, leg.amountRials());
            }
        }
        if (sum != 0) {
            throw new IllegalArgumentException("transfer " + id + " does not balance: legs sum to " + sum);
        }
        if (legs.stream().map(Leg::accountId).distinct().count() != legs.size()) {
            throw new IllegalArgumentException("transfer " + id + " names an account twice");
        }
        // Sorted by account, so concurrent transfers lock rows in one order and cannot deadlock.
        legs = legs.stream().sorted(Comparator.comparing(Leg::accountId)).toList();
    }

    /** The money that moves: the sum of the credits. */
    public long amountRials() {
        return legs.stream().mapToLong(Leg::amountRials).filter(a -> a > 0).sum();
    }
}
