package taraz.app;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every arrow points down (docs/architecture.md): a package of src/main uses only packages of a
 * lower layer, so flows never reach up into http or app, and two flows of one layer (trip and
 * topup) never into each other. app and http, the top, are the one pair that may meet.
 */
class LayeringTest {

    private static final Path SOURCES = Path.of("src/main/java/taraz");
    /** A use of a class of another taraz package in code: {@code taraz.ledger.Ledger}. */
    private static final Pattern USE = Pattern.compile("\\btaraz\\.([a-z]+)\\.[A-Z]");
    private static final Map<String, Integer> LAYER = Map.ofEntries(
            Map.entry("domain", 0), Map.entry("db", 0), Map.entry("failpoint", 0), Map.entry("journal", 0),
            Map.entry("idempotency", 0), Map.entry("psp", 0), Map.entry("async", 0), Map.entry("bench", 0),
            Map.entry("config", 1), Map.entry("ledger", 1), Map.entry("pspsim", 1),
            Map.entry("ops", 2),
            Map.entry("trip", 3), Map.entry("topup", 3), Map.entry("payout", 3), Map.entry("admin", 3), Map.entry("recovery", 3),
            Map.entry("wiring", 4),
            Map.entry("reconcile", 5),
            Map.entry("http", 6), Map.entry("app", 6));

    @Test
    void everyPackageUsesOnlyLowerLayers() throws IOException {
        List<String> upward = new ArrayList<>();
        TreeSet<String> packages = new TreeSet<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String from = SOURCES.relativize(file).getName(0).toString();
                packages.add(from);
                for (String line : Files.readAllLines(file)) {
                    String code = line.strip();
                    if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) {
                        continue;
                    }
                    Matcher use = USE.matcher(code);
                    while (use.find()) {
                        String to = use.group(1);
                        if (!to.equals(from) && !allowed(from, to)) {
                            upward.add(from + " -> " + to + " in " + SOURCES.relativize(file) + ": " + code);
                        }
                    }
                }
            }
        }
        assertEquals(new TreeSet<>(LAYER.keySet()), packages, "every package has its layer here and in docs/architecture.md");
        assertEquals(List.of(), upward, "uses of a package of the same or a higher layer");
    }

    private static boolean allowed(String from, String to) {
        // A package missing from LAYER fails here, and in the check of the package list.
        return LAYER.getOrDefault(to, Integer.MAX_VALUE) < LAYER.getOrDefault(from, Integer.MIN_VALUE)
                || (from.equals("app") && to.equals("http"));
    }
}
