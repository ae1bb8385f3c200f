package taraz.bench;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * After a run, through the API only: every settle answered 2xx is one SETTLED trip with the
 * fare and commission sent and one transfer of three legs; each passenger's balance is its
 * funding plus its credited top-ups minus the fares of its settled trips; each driver holds its
 * trips' shares; the platform's commission legs of those trips add up to the commissions sent;
 * and the bench's wallets plus those legs add up to what was put in. A settle that got no 2xx (a timeout, a 5xx) may
 * still have been carried out: the trip says so, and then it counts as charged once like the rest.
 *
 * <p>The platform's commission account is not a wallet the API shows (and other traffic credits
 * it too), so its side is checked through each trip's transfer as the ledger recorded it.
 */
final class LedgerCheck {

    /** Reads in flight while checking: enough to be quick, few enough not to be a load test of its own. */
    static final int CHECK_CONCURRENCY = 16;
    /** The platform's commission account as trip transfers name it (taraz.ledger.AccountKind, not used here: HTTP only). */
    static final String PLATFORM_ACCOUNT_ID = "platform-commission";

    record Discrepancy(String kind, String id, long expected, long actual) {
        JsonObject toJson() {
            return new JsonObject().put("kind", kind).put("id", id).put("expected", expected).put("actual", actual);
        }

        @Override
        public String toString() {
            return kind + " " + id + ": expected " + expected + ", actual " + actual;
        }
    }

    /** skipped: the run was told not to check ({@code --no-ledger-check}); nothing was found because nothing was looked at. */
    record Result(long checkedSettlements, List<Discrepancy> discrepancies, boolean skipped) {
        Result(long checkedSettlements, List<Discrepancy> discrepancies) {
            this(checkedSettlements, discrepancies, false);
        }

        static Result notRun() {
            return new Result(0, List.of(), true);
        }

        boolean ok() {
            return discrepancies.isEmpty();
        }

        JsonObject toJson() {
            JsonArray list = new JsonArray();
            discrepancies.forEach(d -> list.add(d.toJson()));
            JsonObject json = new JsonObject().put("ok", ok()).put("checkedSettlements", checkedSettlements).put("discrepancies", list);
            return skipped ? json.put("skipped", true) : json;
        }

        /** The line the command prints. */
        String line() {
            if (skipped) {
                return "ledger check: not run (--no-ledger-check)";
            }
            if (ok()) {
                return "ledger check: ok (" + checkedSettlements + " settlements)";
            }
            StringBuilder text = new StringBuilder("ledger check: " + discrepancies.size() + " discrepancies");
            discrepancies.forEach(d -> text.append("\n  ").append(d));
            return text.toString();
        }
    }

    private final BenchClient client;
    private final Book book;
    private final List<Discrepancy> discrepancies = new ArrayList<>();
    private final Map<String, Long> expectedRials = new HashMap<>();
    private long expectedCommissionRials;
    private long platformLegRials;
    private long creditedTopupRials;
    private long checkedSettlements;

    private LedgerCheck(BenchClient client, Book book) {
        this.client = client;
        this.book = book;
        book.fundedRials.forEach(expectedRials::put);
        book.drivers.forEach(driver -> expectedRials.put(driver, 0L));
    }

    /** Runs the check on the calling event loop. */
    static Future<Result> run(BenchClient client, Book book) {
        LedgerCheck check = new LedgerCheck(client, book);
        return Bounded.each(book.trips, CHECK_CONCURRENCY, check::checkTrip)
                .compose(v -> Bounded.each(book.topups, CHECK_CONCURRENCY, check::checkTopup))
                .compose(v -> check.checkWallets())
                .map(v -> new Result(check.checkedSettlements, List.copyOf(check.discrepancies)));
    }

    private Future<Void> checkTrip(Book.Trip trip) {
        return read("/v1/trips/" + trip.tripId(), false).map(json -> {
            boolean settled = json != null && "SETTLED".equals(json.getString("state"));
            if (!settled) {
                if (trip.answer() == Book.Answer.OK) {
                    discrepancies.add(new Discrepancy("trip_not_settled", trip.tripId(), 1, 0));
                }
                return null;
            }
            checkSettledTrip(trip, json);
            return null;
        });
    }

    private void checkSettledTrip(Book.Trip trip, JsonObject json) {
        long fare = json.getLong("fare", -1L);
        long commission = json.getLong("commission", -1L);
        if (fare != trip.fareRials()) {
            discrepancies.add(new Discrepancy("trip_fare", trip.tripId(), trip.fareRials(), fare));
        }
        if (commission != trip.commissionRials()) {
            discrepancies.add(new Discrepancy("trip_commission", trip.tripId(), trip.commissionRials(), commission));
        }
        JsonArray transfers = json.getJsonArray("transfers", new JsonArray());
        if (transfers.size() != 1) {
            discrepancies.add(new Discrepancy("trip_transfers", trip.tripId(), 1, transfers.size()));
        } else {
            Map<String, Long> legs = new HashMap<>();
            transfers.getJsonObject(0).getJsonArray("legs").forEach(leg -> {
                JsonObject l = (JsonObject) leg;
                legs.merge(l.getString("accountId"), l.getLong("amount"), Long::sum);
            });
            expectLeg(trip, legs, trip.passengerWalletId(), -trip.fareRials());
            expectLeg(trip, legs, trip.driverWalletId(), trip.fareRials() - trip.commissionRials());
            expectLeg(trip, legs, PLATFORM_ACCOUNT_ID, trip.commissionRials());
            platformLegRials += legs.getOrDefault(PLATFORM_ACCOUNT_ID, 0L);
        }
        expectedRials.merge(trip.passengerWalletId(), -trip.fareRials(), Long::sum);
        expectedRials.merge(trip.driverWalletId(), trip.fareRials() - trip.commissionRials(), Long::sum);
        expectedCommissionRials += trip.commissionRials();
        if (trip.answer() == Book.Answer.OK) {
            checkedSettlements++;
        }
    }

    private void expectLeg(Book.Trip trip, Map<String, Long> legs, String accountId, long amountRials) {
        long actual = legs.getOrDefault(accountId, 0L);
        if (actual != amountRials) {
            discrepancies.add(new Discrepancy("trip_leg", trip.tripId() + "/" + accountId, amountRials, actual));
        }
    }

    private Future<Void> checkTopup(Book.Topup topup) {
        return read("/v1/topups/" + topup.topupId(), true).map(json -> {
            if (json != null && "CREDITED".equals(json.getString("state"))) {
                expectedRials.merge(topup.walletId(), topup.amountRials(), Long::sum);
                creditedTopupRials += topup.amountRials();
            }
            return null;
        });
    }

    private Future<Void> checkWallets() {
        Map<String, Long> actualRials = new HashMap<>();
        List<String> wallets = new ArrayList<>(expectedRials.keySet());
        return Bounded.each(wallets, CHECK_CONCURRENCY, walletId -> read("/v1/wallets/" + walletId, true).map(json -> {
            actualRials.put(walletId, json == null ? 0L : json.getLong("balance"));
            return null;
        })).map(v -> {
            for (String walletId : wallets) {
                long expected = expectedRials.get(walletId);
                long actual = actualRials.get(walletId);
                if (expected != actual) {
                    String kind = book.fundedRials.containsKey(walletId) ? "passenger_balance" : "driver_balance";
                    discrepancies.add(new Discrepancy(kind, walletId, expected, actual));
                }
            }
            if (platformLegRials != expectedCommissionRials) {
                discrepancies.add(new Discrepancy("platform_commission", PLATFORM_ACCOUNT_ID, expectedCommissionRials,
                        platformLegRials));
            }
            long putIn = book.fundedRials.values().stream().mapToLong(Long::longValue).sum() + creditedTopupRials;
            long held = actualRials.values().stream().mapToLong(Long::longValue).sum() + platformLegRials;
            if (putIn != held) {
                discrepancies.add(new Discrepancy("sum", "bench wallets + platform commission", putIn, held));
            }
            return null;
        });
    }

    /** A GET whose 404 is an answer (null) when the thing may not exist; any other failure fails the check. */
    private Future<JsonObject> read(String path, boolean mustExist) {
        return client.get(path).compose(reply -> {
            if (reply.ok()) {
                return Future.succeededFuture(reply.body());
            }
            if (reply.status() == 404 && !mustExist) {
                return Future.succeededFuture(null);
            }
            return Future.failedFuture(new IllegalStateException("ledger check: GET " + path + " answered "
                    + reply.status() + " " + reply.body()));
        });
    }
}
