package taraz.ledger;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The construction rules of {@link Transfer} and {@link Leg}: no database, no gateway. */
class TransferTest {

    private static Transfer transfer(List<Leg> legs) {
        return new Transfer("t-1", "test", "p-1", null, legs);
    }

    @Test
    void legsAreCreditsOrDebitsOfOneAccount() {
        assertEquals(-500, Leg.debit("a", 500).amountRials());
        assertEquals(500, Leg.credit("a", 500).amountRials());
        assertThrows(IllegalArgumentException.class, () -> Leg.credit("a", 0), "zero leg");
        assertThrows(IllegalArgumentException.class, () -> Leg.debit("a", 0), "zero leg");
        assertThrows(IllegalArgumentException.class, () -> new Leg("a", 0), "zero leg");
        assertThrows(IllegalArgumentException.class, () -> new Leg(null, 1), "no account");
        assertThrows(IllegalArgumentException.class, () -> new Leg(" ", 1), "blank account");
        assertThrows(ArithmeticException.class, () -> Leg.debit("a", Long.MIN_VALUE), "-MIN overflows");
    }

    @Test
    void balancedTransferIsAccepted() {
        Transfer t = transfer(List.of(Leg.debit("p", 1000), Leg.credit("d", 800), Leg.credit("c", 200)));
        assertEquals(1000, t.amountRials());
        assertEquals(3, t.legs().size());
        assertEquals(0, t.legs().stream().mapToLong(Leg::amountRials).sum());
    }

    @Test
    void unbalancedLegsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> transfer(List.of(Leg.debit("p", 1000), Leg.credit("d", 999))));
        assertThrows(IllegalArgumentException.class, () -> transfer(List.of(Leg.debit("p", 1000), Leg.credit("d", 1001))));
        assertThrows(IllegalArgumentException.class,
                () -> transfer(List.of(Leg.debit("p", 1000), Leg.credit("d", 800), Leg.credit("c", 201))));
        assertThrows(IllegalArgumentException.class, () -> transfer(List.of(Leg.credit("p", 5), Leg.credit("d", 5))),
                "credits only");
        assertThrows(IllegalArgumentException.class, () -> transfer(List.of(Leg.debit("p", 5), Leg.debit("d", 5))),
                "debits only");
    }

    @Test
    void zeroLegIsRejected() {
        // A zero leg cannot even be built, so a transfer can never carry one.
        assertThrows(IllegalArgumentException.class,
                () -> transfer(List.of(Leg.debit("p", 10), Leg.credit("d", 10), new Leg("c", 0))));
    }

    @Test
    void legCountIsBounded() {
        assertThrows(IllegalArgumentException.class, () -> transfer(List.of()));
        assertThrows(IllegalArgumentException.class, () -> transfer(List.of(Leg.debit("p", 1))));
        List<Leg> max = new ArrayList<>();
        max.add(Leg.debit("a00", Transfer.LEGS_MAX - 1));
        for (int i = 1; i < Transfer.LEGS_MAX; i++) {
            max.add(Leg.credit(String.format("a%02d", i), 1));
        }
        assertEquals(Transfer.LEGS_MAX - 1, transfer(max).amountRials());
        List<Leg> tooMany = new ArrayList<>();
        tooMany.add(Leg.debit("a00", Transfer.LEGS_MAX));
        for (int i = 1; i <= Transfer.LEGS_MAX; i++) {
            tooMany.add(Leg.credit(String.format("a%02d", i), 1));
        }
        assertThrows(IllegalArgumentException.class, () -> transfer(tooMany));
    }

    @Test
    void duplicateAccountIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> transfer(List.of(Leg.debit("p", 10), Leg.credit("p", 10))));
        assertThrows(IllegalArgumentException.class,
                () -> transfer(List.of(Leg.debit("p", 10), Leg.credit("d", 5), Leg.credit("d", 5))));
    }

    @Test
    void missingIdOrKindIsRejected() {
        List<Leg> legs = List.of(Leg.debit("p", 10), Leg.credit("d", 10));
        assertThrows(IllegalArgumentException.class, () -> new Transfer(null, "k", null, null, legs));
        assertThrows(IllegalArgumentException.class, () -> new Transfer(" ", "k", null, null, legs));
        assertThrows(IllegalArgumentException.class, () -> new Transfer("t", null, null, null, legs));
        assertThrows(IllegalArgumentException.class, () -> new Transfer("t", "", null, null, legs));
    }

    @Test
    void overflowingSumIsRejected() {
        // MAX + MAX overflows on the way to the sum: Math.addExact refuses it rather than wrapping.
        assertThrows(ArithmeticException.class, () -> transfer(List.of(
                Leg.credit("a", Long.MAX_VALUE), Leg.credit("b", Long.MAX_VALUE), Leg.credit("c", 2))));
        // Wrapping arithmetic would have summed these to 0 and called them balanced.
        assertThrows(ArithmeticException.class, () -> transfer(List.of(
                Leg.credit("a", Long.MAX_VALUE), Leg.credit("b", 1), Leg.credit("c", Long.MAX_VALUE), Leg.credit("d", 1))));
        assertThrows(ArithmeticException.class, () -> transfer(List.of(
                new Leg("a", Long.MIN_VALUE), new Leg("b", Long.MIN_VALUE))));
    }

    @Test
    void amountOfAMaximalTransferIsExact() {
        Transfer t = transfer(List.of(Leg.debit("p", Long.MAX_VALUE), Leg.credit("d", Long.MAX_VALUE)));
        assertEquals(Long.MAX_VALUE, t.amountRials());
    }

    /**
     * The money that moves must be representable: credits that sum beyond Long.MAX_VALUE are an
     * overflow whatever the order of the legs. Legs +MAX, -MAX, +1, -1 pass the running addExact
     * (MAX, 0, 1, 0) but amountRials() wraps to Long.MIN_VALUE.
     */
    @Test
    void creditsBeyondLongMaxAreRejectedWhateverTheLegOrder() {
        List<Leg> legs = List.of(Leg.credit("a", Long.MAX_VALUE), Leg.debit("b", Long.MAX_VALUE),
                Leg.credit("c", 1), Leg.debit("d", 1));
        RuntimeException refused = null;
        Transfer built = null;
        try {
            built = transfer(legs);
        } catch (ArithmeticException | IllegalArgumentException e) {
            refused = e;
        }
        assertTrue(refused != null, "a transfer moving more than Long.MAX_VALUE rials was accepted; amountRials() = "
                + (built == null ? "n/a" : built.amountRials()));
    }

    @Test
    void legsAreInLockOrderAndImmutable() {
        List<Leg> legs = new ArrayList<>(List.of(Leg.credit("w_zz", 300), Leg.debit("w_aa", 1000),
                Leg.credit("platform-commission", 700)));
        Transfer t = transfer(legs);
        // Wallets by id, then the (hot) system accounts last.
        assertEquals(List.of("w_aa", "w_zz", "platform-commission"), t.legs().stream().map(Leg::accountId).toList());
        assertEquals(List.of(-1000L, 300L, 700L), t.legs().stream().map(Leg::amountRials).toList());
        legs.clear();
        assertEquals(3, t.legs().size(), "the caller's list is copied");
        assertThrows(UnsupportedOperationException.class, () -> t.legs().add(Leg.credit("x", 1)));
        assertEquals(t, transfer(List.of(Leg.debit("w_aa", 1000), Leg.credit("platform-commission", 700),
                Leg.credit("w_zz", 300))), "equal whatever order the legs came in");
    }

    @Test
    void amountIsTheSumOfCredits() {
        assertEquals(1000, transfer(List.of(Leg.debit("p", 1000), Leg.credit("d", 1000))).amountRials());
        assertEquals(1000, transfer(List.of(Leg.debit("p", 600), Leg.debit("q", 400), Leg.credit("d", 1000))).amountRials());
        assertEquals(1000, transfer(List.of(Leg.debit("p", 1000), Leg.credit("d", 1), Leg.credit("e", 999))).amountRials());
        assertEquals(1000, transfer(List.of(Leg.debit("p", 700), Leg.credit("d", 1000), Leg.debit("e", 300))).amountRials());
    }
}
