package taraz.ledger;

import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * An immutable, atomic, multi-leg movement of money. Its {@code id} is deterministic for the
 * payment step it belongs to ({@code trip:T:settle}), so running a step twice posts once.
 * The legs sum to zero: checked here before the insert, and by the database at commit.
 */
public record Transfer(String id, String kind, String paymentId, String reason, List<Leg> legs) {

    public static final int LEGS_MAX = 16;

    private static final Set<String> SYSTEM_ACCOUNTS = Set.of(AccountKind.PLATFORM_COMMISSION_ID,
            AccountKind.PSP_CLEARING_ID, AccountKind.PAYOUT_CLEARING_ID, AccountKind.CORRECTIONS_ID);

    /**
     * The one order in which every transaction locks accounts, so that none can deadlock:
     * wallets first, then the system accounts, each by id. The system accounts are the hot rows
     * (every settlement credits the platform commission), so they are locked last and held for
     * the shortest time before the commit.
     */
    public static final Comparator<String> LOCK_ORDER = Comparator.comparing((String id) -> SYSTEM_ACCOUNTS.contains(id))
            .thenComparing(Comparator.naturalOrder());

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
        legs = legs.stream().sorted(Comparator.comparing(Leg::accountId, LOCK_ORDER)).toList();
    }

    /** The money that moves: the sum of the credits. */
    public long amountRials() {
        return legs.stream().mapToLong(Leg::amountRials).filter(a -> a > 0).sum();
    }
}
