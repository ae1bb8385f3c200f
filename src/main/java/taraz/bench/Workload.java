package taraz.bench;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;

/**
 * One scenario's operations against a gateway, on the run's event loop: the setup phase opens
 * and funds the wallets through the API, then each call of {@link #next()} is one operation.
 * Everything that moves money is written into the {@link Book} for the ledger check, and each
 * money request the gateway acknowledged into the {@link Acks} (when the run keeps them).
 */
final class Workload {

    /** Each passenger's funding: far more than any run spends, so no settle fails for funds. */
    static final long FUNDING_RIALS = 100_000_000_000L;
    static final long TOPUP_RIALS = 500_000;
    /** A hold covers the fare plus this much, as a ride-hailing estimate does; the settle releases the rest. */
    static final long HOLD_MARGIN_RIALS = 20_000;
    static final int SETUP_CONCURRENCY = 16;
    /** One driver for every this many passengers (hot-driver: one in all). */
    static final int PASSENGERS_PER_DRIVER = 5;
    static final long TOPUP_POLL_MILLIS = 20;
    /** A top-up not CREDITED after this many polls (5 s) ends as a timeout. */
    static final int TOPUP_POLLS_MAX = 250;

    private final Vertx vertx;
    private final BenchClient client;
    private final Scenario scenario;
    private final String pspSimUrl;
    private final Acks acks;
    private final Book book = new Book();
    private final List<String> passengers = new ArrayList<>();
    /** Makes the run's trip ids and owner ids its own on a gateway that has seen other runs. */
    private final String runId = UUID.randomUUID().toString().substring(0, 8);
    private long sequence;

    private Workload(Vertx vertx, BenchClient client, Scenario scenario, String pspSimUrl, Acks acks) {
        this.vertx = vertx;
        this.client = client;
        this.scenario = scenario;
        this.pspSimUrl = pspSimUrl == null ? null : pspSimUrl.replaceAll("/+$", "");
        this.acks = acks;
    }

    /** Opens {@code wallets} passengers (funded through the admin API unless top-ups fund them) and their drivers. */
    static Future<Workload> setup(Vertx vertx, BenchClient client, Scenario scenario, int wallets, String pspSimUrl,
                                  Acks acks) {
        Workload workload = new Workload(vertx, client, scenario, pspSimUrl, acks);
        int drivers = switch (scenario) {
            case TOPUP -> 0;
            case HOT_DRIVER -> 1;
            default -> Math.max(1, wallets / PASSENGERS_PER_DRIVER);
        };
        List<Integer> passengerIndexes = IntStream.range(0, wallets).boxed().toList();
        List<Integer> driverIndexes = IntStream.range(0, drivers).boxed().toList();
        return Bounded.each(passengerIndexes, SETUP_CONCURRENCY, workload::openPassenger)
                .compose(v -> Bounded.each(driverIndexes, SETUP_CONCURRENCY, workload::openDriver))
                .map(v -> {
                    // Opened concurrently: keep a stable order so operations spread evenly.
                    workload.passengers.addAll(workload.book.fundedRials.keySet());
                    return workload;
                });
    }

    Book book() {
        return book;
    }

    private Future<Void> openPassenger(int index) {
        return openWallet("passenger", "bench-" + runId + "-p" + index).compose(walletId -> {
            if (!scenario.fundsWallets()) {
                book.fundedRials.put(walletId, 0L);
                return Future.succeededFuture();
            }
            JsonObject adjustment = new JsonObject().put("walletId", walletId).put("amount", FUNDING_RIALS)
                    .put("reason", "bench funding").put("ticket", "BENCH-" + runId);
            return client.postAdmin("/v1/admin/adjustments", adjustment).compose(reply -> {
                if (reply.status() != 201) {
                    return Future.failedFuture(new IllegalStateException("funding a wallet answered " + reply.status()
                            + " " + reply.body()));
                }
                acks.fund(reply.body().getString("adjustmentId"), walletId, FUNDING_RIALS);
                book.fundedRials.put(walletId, FUNDING_RIALS);
                return Future.succeededFuture();
            });
        });
    }

    private Future<Void> openDriver(int index) {
        return openWallet("driver", "bench-" + runId + "-d" + index).map(walletId -> {
            book.drivers.add(walletId);
            return null;
        });
    }

    private Future<String> openWallet(String kind, String ownerId) {
        return client.post("/v1/wallets", new JsonObject().put("ownerId", ownerId).put("kind", kind)).compose(reply ->
                reply.status() == 201 ? Future.succeededFuture(reply.body().getString("walletId"))
                        : Future.failedFuture(new IllegalStateException("opening a wallet answered " + reply.status()
                        + " " + reply.body())));
    }

    /** One operation of the scenario. */
    Future<Outcome> next() {
        long seq = sequence++;
        return switch (scenario) {
            case SETTLE, HOT_DRIVER -> settle(seq, null);
            case TRIP -> holdThen(seq, seq % 10 == 0);
            case TOPUP -> topup(seq);
            case MIXED -> mixed(seq);
        };
    }

    /** The proportions {@link Scenario#MIXED} states, drawn per operation. */
    private Future<Outcome> mixed(long seq) {
        int draw = ThreadLocalRandom.current().nextInt(100);
        if (draw < 50) {
            return holdThen(seq, false);
        } else if (draw < 60) {
            return holdThen(seq, true);
        } else if (draw < 90) {
            String walletId = passengers.get((int) (seq % passengers.size()));
            return client.get("/v1/wallets/" + walletId).map(reply -> Outcome.answered(reply.status(), reply.ok()));
        } else if (draw < 95) {
            return settle(seq, null);
        }
        return topup(seq);
    }

    private String tripId(long seq) {
        return "bench-" + runId + "-" + seq;
    }

    private String passenger(long seq) {
        return passengers.get((int) (seq % passengers.size()));
    }

    /** Fares vary by trip, so a trip charged twice or for another trip's fare does not hide in a round sum. */
    private static long fare(long seq) {
        return 50_000 + (seq % 100) * 1_000;
    }

    private static long commission(long fareRials) {
        return fareRials / 5;
    }

    private Future<Outcome> settle(long seq, String heldPassenger) {
        String tripId = tripId(seq);
        String passenger = heldPassenger != null ? heldPassenger : passenger(seq);
        String driver = book.drivers.get((int) (seq % book.drivers.size()));
        long fareRials = fare(seq);
        long commissionRials = commission(fareRials);
        JsonObject body = new JsonObject().put("passengerWalletId", passenger).put("driverWalletId", driver)
                .put("fare", fareRials).put("commission", commissionRials);
        return client.post("/v1/trips/" + tripId + "/settle", body)
                .onComplete(result -> book.trips.add(new Book.Trip(tripId, passenger, driver, fareRials, commissionRials,
                        result.succeeded() && result.result().ok() ? Book.Answer.OK : Book.Answer.NOT_OK)))
                .map(reply -> {
                    if (reply.ok()) {
                        acks.settle(tripId, passenger, driver, fareRials, commissionRials);
                    }
                    return Outcome.answered(reply.status(), reply.ok());
                });
    }

    private Future<Outcome> holdThen(long seq, boolean cancel) {
        String passenger = passenger(seq);
        String tripId = tripId(seq);
        long holdRials = fare(seq) + HOLD_MARGIN_RIALS;
        JsonObject hold = new JsonObject().put("passengerWalletId", passenger).put("amount", holdRials);
        return client.post("/v1/trips/" + tripId + "/hold", hold).compose(reply -> {
            if (!reply.ok()) {
                return Future.succeededFuture(Outcome.answered(reply.status(), false));
            }
            acks.hold(tripId, passenger, holdRials);
            if (cancel) {
                return client.post("/v1/trips/" + tripId + "/cancel", new JsonObject()).map(cancelled -> {
                    if (cancelled.ok()) {
                        acks.cancel(tripId, passenger);
                    }
                    return Outcome.answered(cancelled.status(), cancelled.ok());
                });
            }
            return settle(seq, passenger);
        });
    }

    private Future<Outcome> topup(long seq) {
        if (pspSimUrl == null) {
            return Future.failedFuture(new IllegalStateException("a top-up needs --psp-sim-url"));
        }
        String walletId = passenger(seq);
        return client.post("/v1/topups", new JsonObject().put("walletId", walletId).put("amount", TOPUP_RIALS))
                .compose(created -> {
                    if (created.status() != 201) {
                        return Future.succeededFuture(Outcome.answered(created.status(), false));
                    }
                    String topupId = created.body().getString("topupId");
                    String authority = created.body().getString("authority");
                    book.topups.add(new Book.Topup(topupId, walletId, TOPUP_RIALS));
                    acks.topup(topupId, walletId, TOPUP_RIALS, authority);
                    return client.postElsewhere(pspSimUrl + "/sim/pay/" + authority + "?status=OK").compose(paid -> {
                        if (!paid.ok()) {
                            return Future.succeededFuture(Outcome.answered(paid.status(), false));
                        }
                        // The simulator answers once the payment is stored as PAID, before or without the callback
                        // reaching the gateway: from here the bank has the cardholder's money.
                        if (paid.body() != null && "PAID".equals(paid.body().getString("status"))) {
                            acks.paid(topupId, walletId, TOPUP_RIALS, authority);
                        }
                        return pollCredited(topupId, walletId, 0);
                    });
                });
    }

    private Future<Outcome> pollCredited(String topupId, String walletId, int polls) {
        return client.get("/v1/topups/" + topupId).compose(reply -> {
            String state = reply.body() == null ? null : reply.body().getString("state");
            if (reply.ok() && "CREDITED".equals(state)) {
                acks.credited(topupId, walletId, TOPUP_RIALS);
            }
            if (!reply.ok() || "CREDITED".equals(state)) {
                return Future.succeededFuture(Outcome.answered(reply.status(), reply.ok()));
            }
            if ("FAILED".equals(state) || "EXPIRED".equals(state) || "REVERSED".equals(state)) {
                return Future.succeededFuture(Outcome.answered(reply.status(), false));
            }
            if (polls + 1 >= TOPUP_POLLS_MAX) {
                return Future.succeededFuture(new Outcome(false, reply.status(), Outcome.Failure.TIMEOUT));
            }
            Promise<Void> waited = Promise.promise();
            vertx.setTimer(TOPUP_POLL_MILLIS, id -> waited.complete());
            return waited.future().compose(v -> pollCredited(topupId, walletId, polls + 1));
        });
    }
}
