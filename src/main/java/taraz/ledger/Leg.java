package taraz.ledger;

/** One side of a transfer: a credit (amount > 0) or a debit (amount < 0) of one account. */
public record Leg(String accountId, long amountRials) {

    public Leg {
        if (accountId == null || accountId.isBlank()) {
            throw new IllegalArgumentException("leg without an account");
        }
        if (amountRials == 0) {
            throw new IllegalArgumentException("leg of zero rials on " + accountId);
        }
    }

    public static Leg debit(String accountId, long amountRials) {
        return new Leg(accountId, Math.negateExact(amountRials));
    }

    public static Leg credit(String accountId, long amountRials) {
        return new Leg(accountId, amountRials);
    }
}
