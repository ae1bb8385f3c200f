package taraz.ledger;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.Test;
import taraz.db.Database;
import taraz.domain.ErrorCode;
import taraz.failpoint.Failpoints;
import taraz.http.Failure;
import taraz.support.ApiClient;
import taraz.support.TestGateway;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static taraz.support.Sql.count;

/** A transfer id posted again through the ledger writer replays only with the same legs; other legs are a conflict. */
class PostConflictTest {

    @Test
    void theSameLegsReplayOtherLegsConflict() throws Exception {
        ApiClient api = TestGateway.get().api();
        String wallet = api.openWallet("passenger");
        String other = api.openWallet("passenger");
        String id = "test:" + ApiClient.newId("conflict");
        Transfer first = credit(id, wallet, 7_000);
        Vertx vertx = Vertx.vertx();
        BatchWriter writer = new BatchWriter(vertx, Database.connectOptions(TestGateway.get().pgUrl()), Failpoints.none(vertx),
                "post-conflict-test", 100, 100, new SimpleMeterRegistry());
        try {
            TestGateway.await(writer.start());
            assertEquals(Ledger.Posted.NEW, post(writer, first, wallet).value().posted());
            assertEquals(Ledger.Posted.ALREADY_POSTED, post(writer, credit(id, wallet, 7_000), wallet).value().posted());
            List<Transfer> conflicting = List.of(credit(id, wallet, 9_000), credit(id, other, 7_000),
                    new Transfer(id, "other_kind", id, "test", first.legs()),
                    new Transfer(id, "adjustment", "another-payment", "test", first.legs()));
            for (Transfer transfer : conflicting) {
                // Legs in lock order: the wallet first, the corrections account last.
                LedgerCommand.Outcome<TransferCommand.Result> outcome = post(writer, transfer,
                        transfer.legs().get(0).accountId());
                assertEquals(ErrorCode.TRANSFER_CONFLICT, outcome.failure().code(), String.valueOf(outcome));
                // No key, so nothing is stored: the client's answer is the refusal's, as http maps it.
                assertEquals(409, Failure.of(outcome.failure()).status());
            }
        } finally {
            TestGateway.await(writer.close());
            TestGateway.await(vertx.close());
        }
        assertEquals(7_000L, api.balance(wallet));
        assertEquals(0L, api.balance(other));
        assertEquals(2L, count("SELECT count(*) FROM entries WHERE transfer_id = ?", id));
    }

    private static Transfer credit(String id, String wallet, long amountRials) {
        return new Transfer(id, "adjustment", id, "test",
                List.of(Leg.debit(AccountKind.CORRECTIONS_ID, amountRials), Leg.credit(wallet, amountRials)));
    }

    private static LedgerCommand.Outcome<TransferCommand.Result> post(BatchWriter writer, Transfer transfer, String wallet) {
        return TestGateway.await(writer.submit(new TransferCommand(transfer, wallet, null, null,
                result -> new LedgerCommand.Answer(201, "{}", false)), Future.succeededFuture()));
    }
}
