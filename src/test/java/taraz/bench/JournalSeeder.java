package taraz.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonObject;
import taraz.journal.Journal;
import taraz.journal.JournalRecord;
import taraz.config.Settings;
import taraz.ledger.AccountKind;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Appends N trip settlements that were announced (SETTLING, PENDING) and never finished to the
 * journal of a stopped gateway, as a crash under load would leave them; the next start must
 * recover them all before it is ready. Not a test: bench/recovery.sh runs it.
 * Arguments: dataDir N driverWalletId passengerWalletId...
 */
public final class JournalSeeder {

    public static void main(String[] args) throws Exception {
        Path dataDir = Path.of(args[0]);
        int total = Integer.parseInt(args[1]);
        String driver = args[2];
        List<String> passengers = List.of(args).subList(3, args.length);
        try (Journal journal = Journal.open(Settings.defaults().with(Map.of("dataDir", dataDir.toString())).journal(),
                new SimpleMeterRegistry())) {
            for (int i = 0; i < total; i++) {
                String passenger = passengers.get(i % passengers.size());
                JsonObject data = new JsonObject().put("op", "settle").put("passengerWalletId", passenger)
                        .put("driverWalletId", driver).put("fare", 10_000).put("commission", 1_000);
                journal.append(JournalRecord.of("bench-node", "trip", "recovery-bench-" + i, "SETTLING",
                        JournalRecord.Status.PENDING, 1, 10_000, List.of(passenger, driver, AccountKind.PLATFORM_COMMISSION_ID),
                        null, data.encode()));
            }
            journal.sync();
        }
        System.out.println("seeded " + total + " incomplete settlements");
    }
}
