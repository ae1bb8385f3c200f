package taraz.support;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import taraz.psp.SettlementCsv;

/**
 * The history the old payment server left: tens of thousands of healthy top-ups and trips, the
 * bank's settlement report of each day, and, mixed in, the three incidents and every other kind
 * of discrepancy reconciliation knows, each with the finding it must produce. Written straight
 * into the tables (with COPY, triggers off, as the old server had none), because no flow of
 * taraz can produce most of it.
 *
 * <p>Old-server shapes: a top-up credited by a transfer of its own naming ({@code legacy:...}); a
 * trip settled in two steps, the fare to the platform and then the driver's share out of it.
 */
public final class BrokenHistory {

    /** A finding the history must produce: kind, key, the customer's wallet, the amount. */
    public record Expected(String kind, String key, String walletId, long amountRials) {}

    private static final String[] FIRST = {"مریم", "علی", "زهرا", "رضا", "فاطمه", "حسین", "سارا", "محمد", "نگار", "امیر"};
    private static final String[] LAST = {"احمدی", "محمدی", "حسینی", "رضایی", "کریمی", "موسوی", "جعفری", "صادقی"};
    private static final int DAYS = 4;

    private final String p;
    private final Random random;
    private final OffsetDateTime start;
    private final Map<String, Long> balances = new TreeMap<>();
    private final Map<String, Long> held = new TreeMap<>();
    private final List<String> wallets = new ArrayList<>();
    private final StringBuilder accounts = new StringBuilder();
    private final StringBuilder transfers = new StringBuilder();
    private final StringBuilder entries = new StringBuilder();
    private final StringBuilder topups = new StringBuilder();
    private final StringBuilder trips = new StringBuilder();
    private final StringBuilder holds = new StringBuilder();
    private final Map<LocalDate, StringBuilder> settlement = new TreeMap<>();
    private final List<Expected> expected = new ArrayList<>();
    private final Map<String, String> names = new HashMap<>();
    /** Each top-up's authority and ref_id at the bank. */
    private final Map<String, String[]> keys = new HashMap<>();
    private long entrySeq;
    private int next;
    private long healthy;

    private BrokenHistory(String prefix, long seed) {
        this.p = prefix;
        this.random = new Random(seed);
        this.start = LocalDate.now(ZoneOffset.UTC).minusDays(DAYS + 1).atStartOfDay().atOffset(ZoneOffset.UTC);
        for (int d = 0; d < DAYS; d++) {
            settlement.put(start.toLocalDate().plusDays(d), new StringBuilder());
        }
    }

    /** What was written. */
    public record Seeded(List<Expected> expected, List<Path> settlementFiles, long healthyPayments,
                         Map<String, String> customerNames) {}

    /**
     * Writes the history into the (empty, migrated) database and the settlement files into
     * {@code dir}: {@code passengers} wallets, {@code healthyTopups} and {@code healthyTrips}
     * healthy payments, then the broken ones.
     */
    public static Seeded write(Connection db, Path dir, int passengers, int healthyTopups, int healthyTrips, long seed)
            throws SQLException, IOException {
        BrokenHistory h = new BrokenHistory("h" + seed + "-", seed);
        return h.build(db, dir, passengers, healthyTopups, healthyTrips);
    }

    private Seeded build(Connection db, Path dir, int passengers, int healthyTopups, int healthyTrips)
            throws SQLException, IOException {
        int drivers = Math.max(2, passengers / 4);
        List<String> passengerIds = new ArrayList<>();
        List<String> driverIds = new ArrayList<>();
        for (int i = 0; i < passengers; i++) {
            passengerIds.add(wallet("passenger", i));
        }
        for (int i = 0; i < drivers; i++) {
            driverIds.add(wallet("driver", i));
        }
        // Healthy history: every passenger tops up before riding, so no wallet goes below zero.
        long tripsPerTopup = Math.max(1, healthyTrips / Math.max(1, healthyTopups));
        int tripCount = 0;
        for (int i = 0; i < healthyTopups; i++) {
            String passenger = passengerIds.get(i % passengers);
            long amount = 100_000L * (5 + random.nextInt(50));
            OffsetDateTime at = time(i, healthyTopups);
            int shape = i % 50;
            if (shape == 7) {
                topup(passenger, amount, "FAILED", at, false, null, 0);
            } else if (shape == 13) {
                topup(passenger, amount, "REVERSED", at, false, "REVERSED", 0);
            } else if (shape == 29) {
                topup(passenger, amount, "EXPIRED", at, false, null, 0);
            } else {
                topup(passenger, amount, "CREDITED", at, true, "SETTLED", i % 10 == 3 ? 1 : i % 25 == 6 ? 2 : 0);
                for (int t = 0; t < tripsPerTopup && tripCount < healthyTrips; t++, tripCount++) {
                    long fare = Math.min(amount / (tripsPerTopup + 1), 10_000L * (5 + random.nextInt(30)));
                    String driver = driverIds.get(random.nextInt(drivers));
                    OffsetDateTime tripAt = at.plusMinutes(5 + t);
                    if (tripCount % 40 == 11) {
                        trip("VOIDED", passenger, driver, fare, tripAt, false);
                    } else {
                        trip("SETTLED", passenger, driver, fare, tripAt, tripCount % 9 == 4);
                    }
                }
            }
            healthy++;
        }
        healthy += tripCount;
        broken(passengerIds, driverIds);
        flush(db, dir);
        List<Path> files = new ArrayList<>();
        for (LocalDate day : settlement.keySet()) {
            files.add(dir.resolve("settlement-" + day + ".csv"));
        }
        return new Seeded(expected, files, healthy, names);
    }

    /** The broken payments, each with the finding it must produce. */
    private void broken(List<String> passengers, List<String> drivers) {
        OffsetDateTime day2 = start.plusDays(1).plusHours(10);
        // Incident 1: paid 200,000 toman at the bank; the server restarted between callback and credit.
        String maryam = passengers.get(0);
        String t1 = topup(maryam, 2_000_000, "VERIFIED", day2, false, "SETTLED", 0);
        expected.add(new Expected("paid_not_credited", "paid_not_credited:topup:" + t1, maryam, 2_000_000));
        String callbackOnly = topup(passengers.get(1), 750_000, "CALLBACK_RECEIVED", day2.plusHours(1), false, "SETTLED", 0);
        expected.add(new Expected("paid_not_credited", "paid_not_credited:topup:" + callbackOnly, passengers.get(1), 750_000));

        // Incident 2: charged twice. A repeated callback credited one top-up twice...
        String twice = topup(passengers.get(2), 1_500_000, "CREDITED", day2.plusHours(2), true, "SETTLED", 0);
        post("legacy:topup:" + twice + ":credit:2", "topup_credit", twice, day2.plusHours(2).plusSeconds(3),
                "psp-clearing", passengers.get(2), 1_500_000);
        expected.add(new Expected("double_credit", "double_credit:topup:" + twice, passengers.get(2), 1_500_000));
        // ... a retried request opened a second payment the cardholder also paid at the bank ...
        String paidTwice = topup(passengers.get(3), 900_000, "CREDITED", day2.plusHours(3), true, "SETTLED", 0);
        String secondAuthority = authority();
        settle(day2.plusHours(3).plusMinutes(2), secondAuthority, "", card(passengers.get(3)), 900_000, "SETTLED");
        expected.add(new Expected("double_charge", "double_charge:bank:" + secondAuthority, passengers.get(3), 900_000));
        // ... and a resumed step settled one trip twice.
        String trip2 = trip("SETTLED", passengers.get(4), drivers.get(0), 120_000, day2.plusHours(4), false);
        settleLegs("legacy:trip:" + trip2 + ":again", trip2, day2.plusHours(4).plusSeconds(30), passengers.get(4), drivers.get(0),
                120_000, commission(120_000));
        expected.add(new Expected("double_charge", "double_charge:trip:" + trip2, passengers.get(4), 120_000));

        // Incident 3: the fare left the passenger, the driver's share never arrived.
        String trip3 = id("trip");
        long fare3 = 340_000;
        tripRow(trip3, "SETTLED", passengers.get(5), drivers.get(1), fare3, commission(fare3), null, null, day2.plusHours(5), null, null);
        post("legacy:trip:" + trip3 + ":charge", "trip_charge", trip3, day2.plusHours(5), passengers.get(5),
                "platform-commission", fare3);
        expected.add(new Expected("driver_not_credited", "driver_not_credited:trip:" + trip3, drivers.get(1), fare3 - commission(fare3)));

        // The platform's commission never taken: the whole fare went to the driver.
        String trip4 = id("trip");
        long fare4 = 200_000;
        tripRow(trip4, "SETTLED", passengers.get(6), drivers.get(2 % drivers.size()), fare4, commission(fare4), null, null,
                day2.plusHours(6), null, null);
        post("legacy:trip:" + trip4 + ":fare", "trip_fare", trip4, day2.plusHours(6), passengers.get(6),
                drivers.get(2 % drivers.size()), fare4);
        expected.add(new Expected("commission_missing", "commission_missing:trip:" + trip4, drivers.get(2 % drivers.size()), commission(fare4)));

        // Credited, but the bank never settled it (not in that day's report).
        String unpaid = topup(passengers.get(7), 600_000, "CREDITED", day2.plusHours(7), true, null, 0);
        expected.add(new Expected("credited_not_paid", "credited_not_paid:topup:" + unpaid, passengers.get(7), 600_000));

        // Toman taken for rials: the bank settled 500,000 rials, the wallet got 50,000.
        String toman = topup(passengers.get(8), 50_000, "CREDITED", day2.plusHours(8), true, null, 0);
        settle(day2.plusHours(8), keys.get(toman)[0], keys.get(toman)[1], card(passengers.get(8)), 500_000, "SETTLED");
        expected.add(new Expected("amount_mismatch", "amount_mismatch:topup:" + toman, passengers.get(8), 450_000));

        // A cached balance that drifted from its entries, so the ledger no longer sums to zero.
        String drifted = passengers.get(9);
        balances.merge(drifted, 1_000L, Long::sum);
        expected.add(new Expected("balance_drift", null, drifted, 1_000));
        expected.add(new Expected("ledger_imbalance", "ledger_imbalance", null, 1_000));

        // A hold the sweeper missed: expired two days ago, still blocking the money.
        String heldTrip = trip("HELD", passengers.get(10), null, 80_000, day2.plusHours(9), false);
        expected.add(new Expected("hold_expired_not_voided", "hold_expired_not_voided:hold:" + heldTrip, passengers.get(10), 80_000));

        // A top-up sent to the bank and never heard of again, days ago.
        String stuck = topup(passengers.get(11), 300_000, "REQUESTED", day2.plusHours(10), false, null, 0);
        expected.add(new Expected("stuck_payment", "stuck_payment:topup:" + stuck, passengers.get(11), 300_000));
    }

    // ---- writers ---------------------------------------------------------------------------

    private String wallet(String kind, int i) {
        String id = p + kind.charAt(0) + i;
        String name = FIRST[random.nextInt(FIRST.length)] + " " + LAST[random.nextInt(LAST.length)];
        names.put(id, name);
        wallets.add(id);
        balances.put(id, 0L);
        held.put(id, 0L);
        accounts.append(id).append('\t').append(kind).append('\t').append(id).append('\t')
                .append(String.format("0912%07d", random.nextInt(10_000_000))).append('\t').append(name).append('\t')
                .append(start.minusDays(30)).append('\n');
        return id;
    }

    private String topup(String wallet, long amount, String state, OffsetDateTime at, boolean credit, String bank, int lost) {
        String id = id("topup");
        String authority = authority();
        String ref = Long.toString(100_000_000L + next);
        boolean verified = !state.equals("FAILED") && !state.equals("EXPIRED") && !state.equals("REQUESTED")
                && !state.equals("CALLBACK_RECEIVED") && !(state.equals("REVERSED"));
        String transfer = "\\N";
        if (credit) {
            transfer = "topup:" + id + ":credit";
            post(transfer, "topup_credit", id, at.plusSeconds(20), "psp-clearing", wallet, amount);
        }
        keys.put(id, new String[] {authority, ref});
        // Some old rows lost their authority, a few their ref_id too: the report still finds them
        // by ref_id, or by amount, card and time.
        topups.append(id).append('\t').append(wallet).append('\t').append(amount).append("\tzarinpal\t").append(state).append('\t')
                .append(lost > 0 ? "\\N" : authority).append('\t').append(verified && lost < 2 ? ref : "\\N").append('\t')
                .append(verified ? card(wallet) : "\\N").append('\t').append(transfer).append('\t').append(at).append('\t')
                .append(at.plusSeconds(1)).append('\t').append(state.equals("REQUESTED") ? "\\N" : at.plusSeconds(15)).append('\t')
                .append(verified ? at.plusSeconds(18) : "\\N").append('\t').append(at.plusSeconds(20)).append('\n');
        if ("SETTLED".equals(bank)) {
            settle(at.plusSeconds(18), authority, ref, card(wallet), amount, "SETTLED");
        } else if ("REVERSED".equals(bank)) {
            settle(at.plusSeconds(1800), authority, "", card(wallet), amount, "REVERSED");
        }
        return id;
    }


    private void settle(OffsetDateTime paidAt, String authority, String ref, String card, long amount, String status) {
        LocalDate day = paidAt.toLocalDate();
        StringBuilder file = settlement.computeIfAbsent(day, d -> new StringBuilder());
        file.append(day).append(",T-0001,").append(authority).append(',').append(ref).append(',').append(card).append(',')
                .append(amount).append(',').append(status).append(',').append(paidAt.toInstant()).append('\n');
    }

    private String trip(String state, String passenger, String driver, long fare, OffsetDateTime at, boolean legacy) {
        String id = id("trip");
        long commission = commission(fare);
        String hold = null;
        OffsetDateTime expires = null;
        if (state.equals("HELD") || state.equals("VOIDED")) {
            hold = "hold:" + id;
            expires = at.plusHours(1);
            boolean active = state.equals("HELD");
            holds.append(hold).append('\t').append(passenger).append('\t').append(fare).append('\t')
                    .append(active ? "HELD" : "VOIDED").append('\t').append(expires).append('\t').append(at).append('\n');
            if (active) {
                held.merge(passenger, fare, Long::sum);
            }
        }
        String transfer = null;
        if (state.equals("SETTLED")) {
            if (legacy) {
                post("legacy:trip:" + id + ":charge", "trip_charge", id, at, passenger, "platform-commission", fare);
                post("legacy:trip:" + id + ":payout", "trip_payout", id, at.plusSeconds(2), "platform-commission", driver,
                        fare - commission);
            } else {
                transfer = "trip:" + id + ":settle";
                settleLegs(transfer, id, at, passenger, driver, fare, commission);
            }
        }
        boolean settled = state.equals("SETTLED");
        tripRow(id, state, passenger, settled ? driver : null, settled ? fare : null, settled ? commission : null, hold, transfer,
                at, hold != null ? fare : null, expires);
        return id;
    }

    private void tripRow(String id, String state, String passenger, String driver, Long fare, Long commission, String hold,
                         String transfer, OffsetDateTime at, Long holdRials, OffsetDateTime holdExpires) {
        trips.append(id).append('\t').append(state).append('\t').append(passenger).append('\t').append(nul(driver)).append('\t')
                .append(nul(hold)).append('\t').append(nul(fare)).append('\t').append(nul(commission)).append('\t')
                .append(nul(transfer)).append('\t').append(at).append('\t').append(at.plusSeconds(1)).append('\t')
                .append(nul(holdRials)).append('\t').append(nul(holdExpires)).append('\n');
    }

    private void settleLegs(String transferId, String tripId, OffsetDateTime at, String passenger, String driver, long fare,
                            long commission) {
        Map<String, Long> legs = new LinkedHashMap<>();
        legs.put(passenger, -fare);
        legs.put(driver, fare - commission);
        legs.put("platform-commission", commission);
        transfer(transferId, "trip_settle", tripId, at, legs);
    }

    private void post(String transferId, String kind, String paymentId, OffsetDateTime at, String from, String to, long amount) {
        Map<String, Long> legs = new LinkedHashMap<>();
        legs.put(from, -amount);
        legs.put(to, amount);
        transfer(transferId, kind, paymentId, at, legs);
    }

    private void transfer(String id, String kind, String paymentId, OffsetDateTime at, Map<String, Long> legs) {
        long amount = legs.values().stream().filter(a -> a > 0).mapToLong(Long::longValue).sum();
        transfers.append(id).append('\t').append(kind).append('\t').append(paymentId).append('\t').append(amount).append('\t')
                .append(at).append('\n');
        for (Map.Entry<String, Long> leg : legs.entrySet()) {
            long after = balances.merge(leg.getKey(), leg.getValue(), Long::sum);
            entries.append(id).append('\t').append(leg.getKey()).append('\t').append(leg.getValue()).append('\t').append(after)
                    .append('\t').append(at).append('\n');
            entrySeq++;
        }
    }

    private void flush(Connection db, Path dir) throws SQLException, IOException {
        // Only the system accounts' cached balances exist already (0): set them to their entries' sums.
        StringBuilder accountBalances = new StringBuilder();
        CopyManager copy = db.unwrap(PGConnection.class).getCopyAPI();
        boolean auto = db.getAutoCommit();
        db.setAutoCommit(false);
        try (Statement s = db.createStatement()) {
            s.execute("SET LOCAL session_replication_role = replica");
            copy.copyIn("COPY accounts (id, kind, owner_id, phone, name, created_at) FROM STDIN", new StringReader(accounts.toString()));
            copy.copyIn("COPY transfers (id, kind, payment_id, amount_rials, created_at) FROM STDIN", new StringReader(transfers.toString()));
            copy.copyIn("COPY entries (transfer_id, account_id, amount_rials, balance_after_rials, created_at) FROM STDIN",
                    new StringReader(entries.toString()));
            copy.copyIn("COPY holds (id, account_id, amount_rials, state, expires_at, created_at) FROM STDIN",
                    new StringReader(holds.toString()));
            copy.copyIn("COPY trips (trip_id, state, passenger_wallet_id, driver_wallet_id, hold_id, fare_rials, commission_rials, "
                    + "transfer_id, created_at, updated_at, hold_rials, hold_expires_at) FROM STDIN", new StringReader(trips.toString()));
            copy.copyIn("COPY topups (topup_id, wallet_id, amount_rials, gateway, state, authority, ref_id, card_pan, transfer_id, "
                    + "created_at, requested_at, callback_at, verified_at, updated_at) FROM STDIN", new StringReader(topups.toString()));
            for (Map.Entry<String, Long> balance : balances.entrySet()) {
                accountBalances.append(balance.getKey()).append('\t').append(balance.getValue()).append('\t')
                        .append(held.getOrDefault(balance.getKey(), 0L)).append('\n');
            }
            s.execute("CREATE TEMP TABLE seeded_balances (id text, balance bigint, held bigint) ON COMMIT DROP");
            copy.copyIn("COPY seeded_balances FROM STDIN", new StringReader(accountBalances.toString()));
            s.execute("UPDATE accounts a SET balance_rials = a.balance_rials + b.balance, held_rials = a.held_rials + b.held "
                    + "FROM seeded_balances b WHERE a.id = b.id");
            db.commit();
        } catch (SQLException | IOException e) {
            db.rollback();
            throw e;
        } finally {
            db.setAutoCommit(auto);
        }
        Files.createDirectories(dir);
        for (Map.Entry<LocalDate, StringBuilder> day : settlement.entrySet()) {
            try (BufferedWriter out = Files.newBufferedWriter(dir.resolve("settlement-" + day.getKey() + ".csv"), StandardCharsets.UTF_8)) {
                out.write(SettlementCsv.HEADER_PAID_AT + "\n");
                out.write(day.getValue().toString());
            }
        }
    }

    private OffsetDateTime time(int i, int of) {
        long seconds = (long) DAYS * 86_400 * i / Math.max(1, of);
        return start.plusSeconds(seconds);
    }

    private String id(String kind) {
        return p + kind + "-" + (next++);
    }

    private String authority() {
        return String.format("A%035d", Math.abs(p.hashCode()) * 1_000_000L + next++);
    }

    private static String card(String wallet) {
        return "603799******" + String.format("%04d", Math.abs(wallet.hashCode()) % 10_000);
    }

    private static long commission(long fare) {
        return fare / 5;
    }

    private static String nul(Object value) {
        return value == null ? "\\N" : value.toString();
    }
}
