package taraz.bench;

import org.junit.jupiter.api.Test;
import taraz.support.TestGateway;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ledger check, through the API, after a small settle bench on the test gateway. */
class LedgerCheckTest {

    @Test
    void aCleanRunChecksOkAndAPlantedDoubleChargeIsNamed() {
        TestGateway gateway = TestGateway.get();
        try (Bench bench = new Bench(gateway.baseUrl(), TestGateway.API_KEY, TestGateway.ADMIN_TOKEN, 4)) {
            Workload workload = bench.setup(Scenario.SETTLE, 3, null);
            Recorder run = bench.load(new LoadGenerator.Load(4, null, Duration.ZERO, Duration.ofSeconds(1)), workload::next,
                    "settle", line -> { });
            long answeredOk = workload.book().trips.stream().filter(t -> t.answer() == Book.Answer.OK).count();
            assertTrue(answeredOk > 0 && answeredOk == run.ok(), "settles answered 2xx: " + answeredOk);

            LedgerCheck.Result clean = bench.check(workload.book());
            assertTrue(clean.ok(), clean.line());
            assertEquals(answeredOk, clean.checkedSettlements());

            // The plant: one passenger charged one of its fares a second time, as a duplicated debit would.
            Book.Trip trip = workload.book().trips.stream().filter(t -> t.answer() == Book.Answer.OK).findFirst().orElseThrow();
            gateway.api().fund(trip.passengerWalletId(), -trip.fareRials());

            LedgerCheck.Result planted = bench.check(workload.book());
            assertFalse(planted.ok(), planted.line());
            assertTrue(planted.discrepancies().stream().anyMatch(d -> d.kind().equals("passenger_balance")
                    && d.id().equals(trip.passengerWalletId()) && d.expected() - d.actual() == trip.fareRials()), planted.line());
            assertTrue(planted.discrepancies().stream().anyMatch(d -> d.kind().equals("sum")), planted.line());
        }
    }
}
