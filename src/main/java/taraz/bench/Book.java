package taraz.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the harness did to the ledger, for the ledger check: the wallets it opened and funded,
 * every settle it sent and every top-up it started. Written on the run's event loop only, read after the run.
 */
final class Book {

    /** How a settle request ended as the harness saw it. */
    enum Answer { OK, NOT_OK }

    record Trip(String tripId, String passengerWalletId, String driverWalletId, long fareRials, long commissionRials,
                Answer answer) {
    }

    record Topup(String topupId, String walletId, long amountRials) {
    }

    /** Each passenger wallet and the amount it was funded with in the setup phase. */
    final Map<String, Long> fundedRials = new LinkedHashMap<>();
    final List<String> drivers = new ArrayList<>();
    final List<Trip> trips = new ArrayList<>();
    final List<Topup> topups = new ArrayList<>();

    List<String> passengers() {
        return new ArrayList<>(fundedRials.keySet());
    }
}
