package taraz.bench;

import java.util.Arrays;
import java.util.stream.Collectors;

/** What one operation of a bench is; BenchCommand's help says what each does. */
enum Scenario {
    SETTLE("settle"),
    TRIP("trip"),
    HOT_DRIVER("hot-driver"),
    TOPUP("topup"),
    /** The proportions are in BenchCommand's help and drawn in Workload#mixed. */
    MIXED("mixed");

    final String cliName;

    Scenario(String cliName) {
        this.cliName = cliName;
    }

    boolean needsPsp() {
        return this == TOPUP || this == MIXED;
    }

    boolean fundsWallets() {
        return this != TOPUP;
    }

    static Scenario parse(String name) {
        return Arrays.stream(values()).filter(s -> s.cliName.equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown scenario '" + name + "'; one of " + names()));
    }

    static String names() {
        return Arrays.stream(values()).map(s -> s.cliName).collect(Collectors.joining(", "));
    }
}
