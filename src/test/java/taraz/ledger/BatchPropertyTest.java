package taraz.ledger;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import taraz.db.Database;
import taraz.domain.DomainError;
import taraz.failpoint.Failpoints;
import taraz.http.Failure;
import taraz.journal.Inflight;
import taraz.journal.Journal;
import taraz.journal.JournalSettings;
import taraz.ledger.LedgerCommand.Idem;
import taraz.ledger.LedgerCommand.Outcome;
import taraz.support.ApiClient;
import taraz.support.Sql;
import taraz.support.TestGateway;
import taraz.trip.Trip;
import taraz.trip.TripService;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 11's property: a batch of the ledger writer gives what its commands give applied one at
 * a time. Each round opens fresh wallets, then submits a round of random trip commands from this
 * one thread without waiting for any answer, so they queue up and land in a few batches (the
 * writer keeps the submission order), while a simple model applies the same commands one by one.
 * The mix puts the hard cases into one batch: overdrafts; one trip twice (hold then settle,
 * settle twice, settle with other amounts, cancel of a held, settled or unknown trip); one
 * idempotency key twice (the same request replays the first answer, another request is 422
 * idempotency_key_reused); wallets of the wrong kind or none. After each round it compares every
 * answer (status and error code, or the trip's state for a 2xx, and whether it was a replay),
 * every wallet's balance, held amount and entries (amount and balance after, in order), every
 * trip with its hold, and the platform commission's entries for the round's settlements.
 *
 * <p>A failure prints the seed, the round and the round's commands with what the model expected
 * and what the writer answered. Run another seed with {@code -Dbatchprop.seed=N}; a seed always
 * gives the same commands, but where batches begin and end depends on timing.
 */
class BatchPropertyTest {

    private static final long SEED = Long.getLong("batchprop.seed", 11L);
    private static final int ROUNDS = 30;
    private static final int COMMANDS_PER_ROUND = 60;
    private static final int PASSENGERS = 4;
    private static final int DRIVERS = 2;
    private static final int TRIPS_PER_ROUND = 12;
    /** Below a round's size, so a round spans batches: keys and trips meet inside one batch and across two. */
    private static final int BATCH_MAX = 32;
    private static final int QUEUE_MAX = 1_000;
    /** Long, so the shared gateway's hold sweeper never expires one of these holds behind the model's back. */
    private static final long HOLD_TTL_SECONDS = 3_600;
    private static final String NODE = "batchprop";
    private static final String NO_WALLET_PREFIX = "wallet-that-does-not-exist-";

    private static Vertx vertx;
    private static SimpleMeterRegistry registry;
    private static Journal journal;
    private static BatchWriter writer;
    private static TripService trips;
    private static ApiClient api;
    private static Connection sql;

    @BeforeAll
    static void start() throws SQLException {
        TestGateway gateway = TestGateway.get();
        api = gateway.api();
        sql = Sql.connect();
        vertx = Vertx.vertx();
        registry = new SimpleMeterRegistry();
        journal = Journal.open(new JournalSettings(TestGateway.tempDir("batchprop-journal-"), "batch", 5, 65_536, 30),
                registry);
        Failpoints failpoints = Failpoints.none(vertx);
        writer = new BatchWriter(vertx, Database.connectOptions(gateway.pgUrl()), failpoints, NODE, BATCH_MAX, QUEUE_MAX,
                registry);
        TestGateway.await(writer.start());
        trips = new TripService(gateway.pool(), new Ledger(gateway.pool()), writer, journal, failpoints, NODE, HOLD_TTL_SECONDS,
                new Inflight());
    }

    @AfterAll
    static void stop() throws SQLException {
        if (writer != null) {
            TestGateway.await(writer.close());
        }
        if (journal != null) {
            journal.close();
        }
        if (vertx != null) {
            TestGateway.await(vertx.close());
        }
        if (sql != null) {
            sql.close();
        }
    }

    @Test
    void batchesAgreeWithTheCommandsAppliedOneAtATime() throws SQLException {
        Random random = new Random(SEED);
        DistributionSummary batchSize = registry.find("taraz.ledger.batch.size").summary();
        assertNotNull(batchSize, "the writer registers taraz.ledger.batch.size");
        long toWriter = 0;
        double largestBatch = 0;
        long postedInOneBatch = 0;
        long voidedInOneBatch = 0;
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int round = 1; round <= ROUNDS; round++) {
            Round r = new Round(random, round);
            r.openWallets();
            for (int i = 0; i < COMMANDS_PER_ROUND; i++) {
                r.next();
            }
            r.submitAll();
            // A decaying maximum: read after every round, long before it could decay.
            largestBatch = Math.max(largestBatch, batchSize.max());
            r.check();
            toWriter += r.commands.stream().filter(c -> c.reachesWriter).count();
            postedInOneBatch += r.holdsEndedInTheirOwnBatch("POSTED");
            voidedInOneBatch += r.holdsEndedInTheirOwnBatch("VOIDED");
            r.commands.forEach(c -> outcomes.merge(c.op.name() + "->" + c.actual, 1, Integer::sum));
        }
        assertEquals(toWriter, (long) batchSize.totalAmount(), "every command that reached the writer ran in one batch");
        assertTrue(largestBatch > 1, "the largest batch held " + largestBatch + " command(s): "
                + batchSize.count() + " batches for " + toWriter + " commands");
        assertTrue(postedInOneBatch > 0, "seed=" + SEED + ": no hold was placed and posted in one batch");
        Sql.assertLedgerAddsUp(sql, "seed=" + SEED + " after " + ROUNDS + " rounds");
        System.out.printf("BatchPropertyTest seed=%d: %d rounds, %d commands to the writer in %d batches (mean %.1f, "
                        + "largest %.0f); holds placed and posted in one batch %d, placed and voided in one batch %d; "
                        + "outcomes %s%n", SEED, ROUNDS, toWriter, batchSize.count(),
                batchSize.totalAmount() / batchSize.count(), largestBatch, postedInOneBatch, voidedInOneBatch, outcomes);
    }

    // ---- commands ----------------------------------------------------------------------------

    /** What a client gets, as the property compares it: a status, an error code or (2xx) the trip's state, a replay or not. */
    record Reply(int status, String what, boolean replayed) {
        @Override
        public String toString() {
            return status + " " + what + (replayed ? " (replayed)" : "");
        }

        static Reply of(DomainError refusal) {
            Failure failure = Failure.of(refusal);
            return new Reply(failure.status(), failure.code(), false);
        }

        static Reply of(Trip trip) {
            return new Reply(200, trip.state().name(), false);
        }

        /** The answer the writer stored or replayed: a trip for a 2xx, an error body otherwise. */
        static Reply of(LedgerCommand.Answer answer) {
            JsonObject body = new JsonObject(answer.body());
            String what = answer.status() / 100 == 2 ? body.getString("state") : body.getJsonObject("error").getString("code");
            return new Reply(answer.status(), what, answer.replayed());
        }
    }

    /** One trip step, as a route would send it; its text is the request's fingerprint under a key. */
    private interface Op {
        String tripId();

        String name();

        String path();

        Future<Outcome<Trip>> send(Idem idem);

        Reply applyTo(Model model);
    }

    private record HoldOp(String tripId, String passengerId, long amount) implements Op {
        public String name() {
            return "hold";
        }

        public String path() {
            return "/v1/trips/" + tripId + "/hold";
        }

        public Future<Outcome<Trip>> send(Idem idem) {
            return trips.hold(tripId, passengerId, amount, 1, idem);
        }

        public Reply applyTo(Model model) {
            return model.hold(this);
        }
    }

    private record SettleOp(String tripId, String passengerId, String driverId, long fare, long commission) implements Op {
        public String name() {
            return "settle";
        }

        public String path() {
            return "/v1/trips/" + tripId + "/settle";
        }

        public Future<Outcome<Trip>> send(Idem idem) {
            return trips.settle(tripId, passengerId, driverId, fare, commission, 1, idem);
        }

        public Reply applyTo(Model model) {
            return model.settle(this);
        }
    }

    private record CancelOp(String tripId) implements Op {
        public String name() {
            return "cancel";
        }

        public String path() {
            return "/v1/trips/" + tripId + "/cancel";
        }

        public Future<Outcome<Trip>> send(Idem idem) {
            return trips.cancel(tripId, 1, idem);
        }

        public Reply applyTo(Model model) {
            return model.cancel(this);
        }
    }

    /** The hold sweeper's step (no key): with the long TTL no hold is due, so it changes nothing. */
    private record ExpireOp(String tripId) implements Op {
        public String name() {
            return "expire";
        }

        public String path() {
            return "sweeper";
        }

        public Future<Outcome<Trip>> send(Idem idem) {
            return trips.expire(tripId, 1).map(trip -> new Outcome<>(trip, null, null));
        }

        public Reply applyTo(Model model) {
            return model.expire(this);
        }
    }

    private static final class Command {
        final int index;
        final Op op;
        final String key;
        final Reply expected;
        /** False when the trip service refuses it before the writer (bad commission, one wallet twice). */
        final boolean reachesWriter;
        Reply actual;

        Command(int index, Op op, String key, Reply expected, boolean reachesWriter) {
            this.index = index;
            this.op = op;
            this.key = key;
            this.expected = expected;
            this.reachesWriter = reachesWriter;
        }

        Idem idem() {
            return key == null ? null : new Idem(key, op.toString(), "POST", op.path(), Failure::answer);
        }
    }

    // ---- the model: one command at a time ----------------------------------------------------

    enum State { NONE, HELD, SETTLED, VOIDED, EXPIRED }

    private static final class WalletModel {
        final String id;
        final AccountKind kind;
        final String label;
        long funded;
        long balance;
        long held;
        /** Amount and balance after, per entry, in order. */
        final List<String> entries = new ArrayList<>();

        WalletModel(String id, AccountKind kind, String label) {
            this.id = id;
            this.kind = kind;
            this.label = label;
        }

        long available() {
            return balance - held;
        }

        void entry(long amount) {
            balance += amount;
            entries.add(amount + "@" + balance);
        }
    }

    private static final class TripModel {
        final String id;
        final String label;
        State state = State.NONE;
        WalletModel passenger;
        long hold;
        boolean everHeld;
        WalletModel driver;
        long fare;
        long commission;

        TripModel(String id, String label) {
            this.id = id;
            this.label = label;
        }

        /** The trip row and its hold as the database should have them; null for no trip. */
        String row() {
            if (state == State.NONE) {
                return null;
            }
            String holdState = !everHeld ? null : switch (state) {
                case SETTLED -> "POSTED";
                case NONE -> null;
                default -> state.name();
            };
            boolean settled = state == State.SETTLED;
            return describe(state.name(), passenger.id, settled ? driver.id : null, everHeld ? hold : null,
                    settled ? fare : null, settled ? commission : null, holdState);
        }
    }

    static String describe(String state, String passenger, String driver, Long hold, Long fare, Long commission,
                           String holdState) {
        return state + " passenger=" + passenger + " driver=" + driver + " hold=" + hold + " (" + holdState + ") fare="
                + fare + " commission=" + commission;
    }

    /** A key as the model keeps it: the request's fingerprint and the first answer. */
    private record StoredKey(String requestHash, Reply answer) {}

    private static final class Model {
        final Map<String, WalletModel> wallets = new LinkedHashMap<>();
        final Map<String, TripModel> trips = new LinkedHashMap<>();
        final Map<String, StoredKey> keys = new LinkedHashMap<>();
        /** The commission legs of this round's settlements, in the order they were posted. */
        final List<Long> commissions = new ArrayList<>();

        /** A command as the writer runs it, one at a time: the key first, then the step. */
        Reply apply(Op op, String key) {
            if (key != null) {
                StoredKey stored = keys.get(key);
                if (stored != null) {
                    return stored.requestHash.equals(op.toString()) ? new Reply(stored.answer.status, stored.answer.what, true)
                            : new Reply(422, "idempotency_key_reused", false);
                }
            }
            Reply reply = op.applyTo(this);
            if (key != null) {
                keys.put(key, new StoredKey(op.toString(), reply));
            }
            return reply;
        }

        /** The trip service's own checks, made before a command reaches the writer, so before its key. */
        static Reply refusedBeforeTheWriter(Op op) {
            if (op instanceof SettleOp s) {
                if (s.commission < 0 || s.commission > s.fare) {
                    return new Reply(422, "invalid_commission", false);
                }
                if (s.passengerId.equals(s.driverId)) {
                    return new Reply(422, "same_wallet", false);
                }
            }
            return null;
        }

        /** A wallet of {@code kind}, or the refusal: 404 for no wallet (a system account is none), 422 for another kind. */
        Reply wallet(String id, AccountKind kind) {
            WalletModel wallet = wallets.get(id);
            if (wallet == null) {
                return new Reply(404, "wallet_not_found", false);
            }
            return wallet.kind == kind ? null : new Reply(422, "wallet_kind_mismatch", false);
        }

        Reply hold(HoldOp op) {
            Reply refused = wallet(op.passengerId, AccountKind.PASSENGER);
            if (refused != null) {
                return refused;
            }
            WalletModel passenger = wallets.get(op.passengerId);
            TripModel trip = trips.get(op.tripId);
            switch (trip.state) {
                case NONE -> {
                    if (op.amount > passenger.available()) {
                        return new Reply(402, "insufficient_funds", false);
                    }
                    passenger.held += op.amount;
                    trip.state = State.HELD;
                    trip.passenger = passenger;
                    trip.hold = op.amount;
                    trip.everHeld = true;
                    return ok(trip);
                }
                case HELD -> {
                    return trip.passenger == passenger && trip.hold == op.amount ? ok(trip)
                            : new Reply(409, "trip_already_held", false);
                }
                default -> {
                    return closed(trip);
                }
            }
        }

        Reply settle(SettleOp op) {
            Reply refused = wallet(op.passengerId, AccountKind.PASSENGER);
            if (refused == null) {
                refused = wallet(op.driverId, AccountKind.DRIVER);
            }
            if (refused != null) {
                return refused;
            }
            WalletModel passenger = wallets.get(op.passengerId);
            WalletModel driver = wallets.get(op.driverId);
            TripModel trip = trips.get(op.tripId);
            switch (trip.state) {
                case NONE, HELD -> {
                    if (trip.state == State.HELD && trip.passenger != passenger) {
                        return new Reply(409, "trip_passenger_mismatch", false);
                    }
                    long released = trip.state == State.HELD ? trip.hold : 0;
                    if (passenger.balance - op.fare - (passenger.held - released) < 0) {
                        return new Reply(402, "insufficient_funds", false);
                    }
                    passenger.held -= released;
                    // The settlement's legs, in their order: passenger, driver, platform.
                    passenger.entry(-op.fare);
                    if (op.fare - op.commission > 0) {
                        driver.entry(op.fare - op.commission);
                    }
                    if (op.commission > 0) {
                        commissions.add(op.commission);
                    }
                    trip.state = State.SETTLED;
                    trip.passenger = passenger;
                    trip.driver = driver;
                    trip.fare = op.fare;
                    trip.commission = op.commission;
                    return ok(trip);
                }
                case SETTLED -> {
                    boolean same = trip.passenger == passenger && trip.driver == driver && trip.fare == op.fare
                            && trip.commission == op.commission;
                    return same ? ok(trip) : new Reply(409, "trip_already_settled", false);
                }
                default -> {
                    return closed(trip);
                }
            }
        }

        Reply cancel(CancelOp op) {
            TripModel trip = trips.get(op.tripId);
            switch (trip.state) {
                case NONE -> {
                    return new Reply(404, "trip_not_found", false);
                }
                case HELD -> {
                    trip.passenger.held -= trip.hold;
                    trip.state = State.VOIDED;
                    return ok(trip);
                }
                case SETTLED -> {
                    return new Reply(409, "trip_already_settled", false);
                }
                default -> {
                    return ok(trip);
                }
            }
        }

        Reply expire(ExpireOp op) {
            TripModel trip = trips.get(op.tripId);
            return trip.state == State.NONE ? new Reply(404, "trip_not_found", false) : ok(trip);
        }

        private static Reply ok(TripModel trip) {
            return new Reply(200, trip.state.name(), false);
        }

        private static Reply closed(TripModel trip) {
            return switch (trip.state) {
                case SETTLED -> new Reply(409, "trip_already_settled", false);
                case VOIDED -> new Reply(409, "trip_voided", false);
                case EXPIRED -> new Reply(409, "trip_expired", false);
                case NONE, HELD -> throw new IllegalStateException("trip " + trip.id + " is " + trip.state);
            };
        }
    }

    // ---- a round -----------------------------------------------------------------------------

    private static final class Round {
        final Random random;
        final int round;
        final String prefix;
        final Model model = new Model();
        final List<WalletModel> passengers = new ArrayList<>();
        final List<WalletModel> drivers = new ArrayList<>();
        final List<TripModel> pool = new ArrayList<>();
        final List<Command> commands = new ArrayList<>();
        final Map<String, String> keyLabels = new LinkedHashMap<>();
        final String missingWallet;
        int unknownTrips;

        Round(Random random, int round) {
            this.random = random;
            this.round = round;
            // Fresh ids per round and per run: the shared database keeps earlier runs' rows.
            this.prefix = ApiClient.newId("bp" + SEED + "r" + round);
            this.missingWallet = NO_WALLET_PREFIX + prefix;
        }

        void openWallets() {
            for (int i = 0; i < PASSENGERS; i++) {
                WalletModel wallet = new WalletModel(api.openWallet("passenger"), AccountKind.PASSENGER, "P" + i);
                long funding = random.nextInt(4) == 0 ? 0 : 20_000 + random.nextInt(480_000);
                if (funding > 0) {
                    api.fund(wallet.id, funding);
                    wallet.funded = funding;
                    wallet.entry(funding);
                }
                passengers.add(wallet);
                model.wallets.put(wallet.id, wallet);
            }
            for (int i = 0; i < DRIVERS; i++) {
                WalletModel wallet = new WalletModel(api.openWallet("driver"), AccountKind.DRIVER, "D" + i);
                drivers.add(wallet);
                model.wallets.put(wallet.id, wallet);
            }
            for (int i = 0; i < TRIPS_PER_ROUND; i++) {
                pool.add(newTrip("T" + i));
            }
        }

        private TripModel newTrip(String label) {
            TripModel trip = new TripModel(prefix + "-" + label, label);
            model.trips.put(trip.id, trip);
            return trip;
        }

        // ---- generating the round's commands, the model applying each as it is made ---------

        void next() {
            int index = commands.size();
            Op op;
            String key;
            List<Command> keyed = commands.stream().filter(c -> c.key != null).toList();
            int dice = random.nextInt(100);
            if (dice < 12 && !keyed.isEmpty()) {
                // A retry: the same request under the same key, usually of a command a few places back (one batch).
                Command earlier = recent(keyed);
                op = earlier.op;
                key = earlier.key;
            } else if (dice < 20 && !keyed.isEmpty()) {
                // Another request under a key already used (the sweeper's expire has no key to reuse).
                op = freshOp();
                key = op instanceof ExpireOp ? null : recent(keyed).key;
            } else {
                op = freshOp();
                key = op instanceof ExpireOp || random.nextInt(10) == 0 ? null : prefix + "-k" + index;
            }
            if (key != null) {
                keyLabels.putIfAbsent(key, "K" + keyLabels.size());
            }
            Reply refused = Model.refusedBeforeTheWriter(op);
            Reply expected = refused != null ? refused : model.apply(op, key);
            commands.add(new Command(index, op, key, expected, refused == null));
        }

        private Command recent(List<Command> from) {
            int back = random.nextInt(4) == 0 ? from.size() : Math.min(from.size(), 6);
            return from.get(from.size() - 1 - random.nextInt(back));
        }

        private Op freshOp() {
            int dice = random.nextInt(100);
            if (dice < 32) {
                return hold();
            }
            if (dice < 72) {
                return settle();
            }
            if (dice < 92) {
                return new CancelOp(pickTrip(State.HELD, 9).id);
            }
            return new ExpireOp(pickTrip(State.HELD, 9).id);
        }

        private HoldOp hold() {
            TripModel trip = pickTrip(State.NONE, 7);
            String passenger;
            long amount;
            if (trip.state == State.HELD && random.nextBoolean()) {
                passenger = trip.passenger.id;
                amount = trip.hold;
            } else {
                WalletModel wallet = trip.passenger != null && random.nextInt(4) != 0 ? trip.passenger : pick(passengers);
                passenger = random.nextInt(12) == 0 ? notAPassenger() : wallet.id;
                amount = amountAround(wallet.available());
            }
            return new HoldOp(trip.id, passenger, amount);
        }

        private SettleOp settle() {
            TripModel trip = pickTrip(State.HELD, 5);
            if (trip.state == State.SETTLED && random.nextBoolean()) {
                return new SettleOp(trip.id, trip.passenger.id, trip.driver.id, trip.fare, trip.commission);
            }
            WalletModel passenger = trip.passenger != null && random.nextInt(10) != 0 ? trip.passenger : pick(passengers);
            WalletModel driver = trip.driver != null && random.nextBoolean() ? trip.driver : pick(drivers);
            long room = passenger.available() + (trip.state == State.HELD && trip.passenger == passenger ? trip.hold : 0);
            long fare = trip.state == State.HELD && random.nextInt(3) == 0
                    ? Math.max(1, trip.hold + random.nextInt(60_001) - 30_000) : amountAround(room);
            long commission = switch (random.nextInt(6)) {
                case 0 -> 0;
                case 1 -> fare;
                case 2 -> random.nextInt(8) == 0 ? fare + 1 : fare / 5;
                default -> Math.floorMod(random.nextLong(), fare + 1);
            };
            String passengerId = random.nextInt(15) == 0 ? notAPassenger() : passenger.id;
            int odd = random.nextInt(30);
            String driverId = odd == 0 ? passengerId : odd == 1 ? notADriver() : driver.id;
            return new SettleOp(trip.id, passengerId, driverId, fare, commission);
        }

        /** A trip in {@code preferred} state {@code preferredTenths}/10 of the time when there is one; else any, new or recent. */
        private TripModel pickTrip(State preferred, int preferredTenths) {
            int dice = random.nextInt(10);
            if (dice < preferredTenths) {
                List<TripModel> in = pool.stream().filter(t -> t.state == preferred).toList();
                if (!in.isEmpty()) {
                    return pick(in);
                }
            }
            if (dice == 9 && random.nextInt(3) == 0) {
                return newTrip("U" + unknownTrips++);
            }
            if (!commands.isEmpty() && random.nextBoolean()) {
                // The trip of a command a few places back, so one trip meets itself inside a batch.
                Command earlier = commands.get(commands.size() - 1 - random.nextInt(Math.min(commands.size(), 5)));
                return model.trips.get(earlier.op.tripId());
            }
            return pick(pool);
        }

        private String notAPassenger() {
            return switch (random.nextInt(3)) {
                case 0 -> pick(drivers).id;
                case 1 -> missingWallet;
                default -> AccountKind.PLATFORM_COMMISSION_ID;
            };
        }

        private String notADriver() {
            return switch (random.nextInt(3)) {
                case 0 -> pick(passengers).id;
                case 1 -> missingWallet;
                default -> AccountKind.PLATFORM_COMMISSION_ID;
            };
        }

        private long amountAround(long available) {
            return LedgerPropertyTest.amountAround(random, available, 100_000);
        }

        private <T> T pick(List<T> list) {
            return list.get(random.nextInt(list.size()));
        }

        // ---- running them ----------------------------------------------------------------

        /** Sends every command from this thread, none waiting for another, then waits for all the answers. */
        void submitAll() {
            List<Future<Reply>> replies = new ArrayList<>(commands.size());
            for (Command command : commands) {
                Future<Outcome<Trip>> sent;
                try {
                    sent = command.op.send(command.idem());
                } catch (RuntimeException e) {
                    sent = Future.failedFuture(e);
                }
                replies.add(sent.transform(done -> Future.succeededFuture(reply(done.succeeded() ? done.result() : null,
                        done.cause()))));
            }
            TestGateway.await(Future.all(replies));
            for (int i = 0; i < commands.size(); i++) {
                commands.get(i).actual = replies.get(i).result();
            }
        }

        private static Reply reply(Outcome<Trip> outcome, Throwable cause) {
            if (cause != null) {
                return cause instanceof DomainError refusal ? Reply.of(refusal) : new Reply(500, cause.toString(), false);
            }
            if (outcome.answer() != null) {
                return Reply.of(outcome.answer());
            }
            return outcome.failure() != null ? Reply.of(outcome.failure()) : Reply.of(outcome.value());
        }

        // ---- checking ----------------------------------------------------------------------

        void check() throws SQLException {
            List<String> problems = new ArrayList<>();
            for (Command command : commands) {
                if (!command.expected.equals(command.actual)) {
                    problems.add("#" + command.index + " " + show(command) + ": model " + command.expected + ", writer "
                            + command.actual);
                }
            }
            compare(problems, "wallets", expectedWallets(), actualWallets());
            compare(problems, "trips", expectedTrips(), actualTrips());
            checkCommission(problems);
            if (!problems.isEmpty()) {
                throw new AssertionError("seed=" + SEED + " round=" + round + " (rerun with -Dbatchprop.seed=" + SEED
                        + "): the batches disagree with the model\n  " + label(String.join("\n  ", problems)) + "\n"
                        + listing());
            }
        }

        private static void compare(List<String> problems, String what, Map<String, String> expected,
                                    Map<String, String> actual) {
            for (Map.Entry<String, String> e : expected.entrySet()) {
                String found = actual.get(e.getKey());
                if (!Objects.equals(e.getValue(), found)) {
                    problems.add(what + " " + e.getKey() + ": model " + e.getValue() + "\n      database " + found);
                }
            }
        }

        private Map<String, String> expectedWallets() {
            Map<String, String> expected = new LinkedHashMap<>();
            model.wallets.values().forEach(w -> expected.put(w.label,
                    "balance=" + w.balance + " held=" + w.held + " entries=" + w.entries));
            return expected;
        }

        private Map<String, String> actualWallets() throws SQLException {
            Map<String, String> actual = new LinkedHashMap<>();
            for (WalletModel w : model.wallets.values()) {
                String account = null;
                try (PreparedStatement ps = sql.prepareStatement("SELECT balance_rials, held_rials FROM accounts WHERE id = ?")) {
                    ps.setString(1, w.id);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            account = "balance=" + rs.getLong(1) + " held=" + rs.getLong(2);
                        }
                    }
                }
                List<String> entries = new ArrayList<>();
                try (PreparedStatement ps = sql.prepareStatement(
                        "SELECT amount_rials, balance_after_rials FROM entries WHERE account_id = ? ORDER BY id")) {
                    ps.setString(1, w.id);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            entries.add(rs.getLong(1) + "@" + rs.getLong(2));
                        }
                    }
                }
                actual.put(w.label, account + " entries=" + entries);
            }
            return actual;
        }

        private Map<String, String> expectedTrips() {
            Map<String, String> expected = new LinkedHashMap<>();
            model.trips.values().forEach(t -> expected.put(t.label, t.row()));
            return expected;
        }

        private Map<String, String> actualTrips() throws SQLException {
            Map<String, String> byId = new LinkedHashMap<>();
            try (PreparedStatement ps = sql.prepareStatement("SELECT t.trip_id, t.state, t.passenger_wallet_id, "
                    + "t.driver_wallet_id, t.hold_rials, t.fare_rials, t.commission_rials, h.state "
                    + "FROM trips t LEFT JOIN holds h ON h.id = t.hold_id WHERE t.trip_id = ANY(?)")) {
                ps.setArray(1, textArray(model.trips.keySet()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        byId.put(rs.getString(1), describe(rs.getString(2), rs.getString(3), rs.getString(4),
                                (Long) rs.getObject(5), (Long) rs.getObject(6), (Long) rs.getObject(7), rs.getString(8)));
                    }
                }
            }
            Map<String, String> actual = new LinkedHashMap<>();
            model.trips.values().forEach(t -> actual.put(t.label, byId.get(t.id)));
            return actual;
        }

        /**
         * The round's commission legs, in order, and the commission account's balance-after chain
         * from the first of them on (whoever else wrote to it meanwhile).
         */
        private void checkCommission(List<String> problems) throws SQLException {
            List<String> transfers = model.trips.values().stream().filter(t -> t.state == State.SETTLED)
                    .map(t -> Trip.settleTransferId(t.id)).toList();
            List<Long> legs = new ArrayList<>();
            long firstId = Long.MAX_VALUE;
            try (PreparedStatement ps = sql.prepareStatement("SELECT id, amount_rials FROM entries "
                    + "WHERE account_id = ? AND transfer_id = ANY(?) ORDER BY id")) {
                ps.setString(1, AccountKind.PLATFORM_COMMISSION_ID);
                ps.setArray(2, textArray(transfers));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        firstId = Math.min(firstId, rs.getLong(1));
                        legs.add(rs.getLong(2));
                    }
                }
            }
            if (!legs.equals(model.commissions)) {
                problems.add("commission legs of the round: model " + model.commissions + "\n      database " + legs);
            }
            if (legs.isEmpty()) {
                return;
            }
            try (PreparedStatement ps = sql.prepareStatement("SELECT id, amount_rials, balance_after_rials FROM entries "
                    + "WHERE account_id = ? AND id >= coalesce((SELECT max(id) FROM entries WHERE account_id = ? AND id < ?), ?) ORDER BY id")) {
                ps.setString(1, AccountKind.PLATFORM_COMMISSION_ID);
                ps.setString(2, AccountKind.PLATFORM_COMMISSION_ID);
                ps.setLong(3, firstId);
                ps.setLong(4, firstId);
                try (ResultSet rs = ps.executeQuery()) {
                    Long before = null;
                    while (rs.next()) {
                        long after = rs.getLong(3);
                        if (before != null && after != before + rs.getLong(2)) {
                            problems.add("commission entry " + rs.getLong(1) + " of " + rs.getLong(2) + " has balance after "
                                    + after + ", the entry before it " + before);
                        }
                        before = after;
                    }
                }
            }
        }

        /** Holds of this round placed and ended ({@code state}) in one batch: one transaction, one now(). */
        long holdsEndedInTheirOwnBatch(String state) throws SQLException {
            List<String> holds = model.trips.values().stream().filter(t -> t.everHeld).map(t -> Trip.holdId(t.id)).toList();
            try (PreparedStatement ps = sql.prepareStatement("SELECT count(*) FROM holds WHERE id = ANY(?) AND state = ? "
                    + "AND created_at = updated_at")) {
                ps.setArray(1, textArray(holds));
                ps.setString(2, state);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        }

        private static Array textArray(Collection<String> values) throws SQLException {
            return sql.createArrayOf("text", values.toArray(String[]::new));
        }

        private String show(Command command) {
            String key = command.key == null ? "no key" : keyLabels.get(command.key);
            return "[" + key + "] " + label(command.op.toString());
        }

        /** The round's commands and wallets with short labels (P0, D1, T3, K5) in place of ids. */
        private String listing() {
            StringBuilder out = new StringBuilder("wallets:");
            model.wallets.values().forEach(w -> out.append(' ').append(w.label).append('=').append(w.id));
            out.append("\nfunded with:");
            model.wallets.values().forEach(w -> out.append(' ').append(w.label).append('=').append(w.funded));
            out.append("\ncommands, in the order they were submitted:\n");
            for (Command command : commands) {
                out.append("  #").append(command.index).append(' ').append(show(command)).append(" -> model ")
                        .append(command.expected).append(", writer ").append(command.actual).append('\n');
            }
            return out.toString();
        }

        private String label(String text) {
            String labelled = text;
            for (WalletModel w : model.wallets.values()) {
                labelled = labelled.replace(w.id, w.label);
            }
            for (TripModel t : model.trips.values()) {
                labelled = labelled.replace(t.id, t.label);
            }
            return labelled.replace(missingWallet, "NO_WALLET");
        }
    }
}
