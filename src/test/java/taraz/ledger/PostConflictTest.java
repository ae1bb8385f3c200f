package taraz.ledger;

import org.junit.jupiter.api.Test;
import taraz.app.Failure;
import taraz.support.Api;
import taraz.support.TestGateway;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static taraz.support.Sql.count;

/** A transfer id posted again replays only with the same legs; other legs are a conflict. */
class PostConflictTest {

    @Test
    void theSameLegsReplayOtherLegsConflict() throws Exception {
        Api api = TestGateway.get().api();
        String wallet = api.openWallet("passenger");
        String other = api.openWallet("passenger");
        Ledger ledger = new Ledger();
        String id = "test:" + Api.newId("conflict");
        Transfer first = credit(id, wallet, 7_000);

        assertEquals(Ledger.Posted.NEW, post(ledger, first));
        assertEquals(Ledger.Posted.ALREADY_POSTED, post(ledger, credit(id, wallet, 7_000)));
        for (Transfer conflicting : List.of(credit(id, wallet, 9_000), credit(id, other, 7_000),
                new Transfer(id, "other_kind", id, "test", first.legs()),
                new Transfer(id, "adjustment", "another-payment", "test", first.legs()))) {
            Failure failure = assertThrows(Failure.class, () -> post(ledger, conflicting));
            assertEquals("transfer_conflict", failure.code());
        }
        assertEquals(7_000L, api.balance(wallet));
        assertEquals(0L, api.balance(other));
        assertEquals(2L, count("SELECT count(*) FROM entries WHERE transfer_id = ?", id));
    }

    private static Transfer credit(String id, String wallet, long amountRials) {
        return new Transfer(id, "adjustment", id, "test",
                List.of(Leg.debit(AccountKind.CORRECTIONS_ID, amountRials), Leg.credit(wallet, amountRials)));
    }

    private static Ledger.Posted post(Ledger ledger, Transfer transfer) {
        return TestGateway.await(Tx.run(TestGateway.get().pool(), tx -> ledger.post(tx, transfer)));
    }
}
