package taraz.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Compares two bench runs (result.json, format 1) and flags B's regressions against A beyond the
 * run-to-run noise each run measured in its own per-second timeline.
 */
public final class BenchCompare {
    /** The rule, as stated in {@code --help} and under every comparison. No percent signs: picocli reads it as a format. */
    public static final String RULE = "B is flagged as a regression of A when (1) B's throughput (2xx per second) is lower than A's"
            + " by more than max(throughput floor, k * sqrt(cvA^2 + cvB^2)), cv being the coefficient of variation"
            + " (standard deviation / mean) of a run's per-second ok counts; or (2) B's p99 is higher than A's by more than"
            + " max(p99 floor, k * sqrt(cvA^2 + cvB^2)), cv being that of the run's per-second p99s;"
            + " or (3) either run's ledger check failed (a fast number from a wrong ledger is worthless)."
            + " The other percentiles and the error ratio are shown, not flagged.";

    private static final List<String> PERCENTILE_LABELS = List.of("p50", "p90", "p99", "p99.9", "max");
    /** The settings that make two runs comparable; a difference is pointed out, not refused. */
    private static final List<String> LIKE_FOR_LIKE = List.of("model", "connections", "rate", "durationSeconds", "wallets", "findPeak");

    private BenchCompare() {
    }

    /** The thresholds: floors as fractions (0.05 = 5 percent), {@code noiseFactor} the k of the rule. */
    public record Rule(double throughputFloor, double p99Floor, double noiseFactor) {
        public static final Rule DEFAULT = new Rule(0.05, 0.10, 2.0);

        public Rule {
            if (!(throughputFloor >= 0 && throughputFloor < 1)) {
                throw new IllegalArgumentException("the throughput floor is a fraction in [0, 1), not " + throughputFloor);
            }
            if (!(p99Floor >= 0 && Double.isFinite(p99Floor))) {
                throw new IllegalArgumentException("the p99 floor is a fraction >= 0, not " + p99Floor);
            }
            if (!(noiseFactor >= 0 && Double.isFinite(noiseFactor))) {
                throw new IllegalArgumentException("the noise factor k is a number >= 0, not " + noiseFactor);
            }
        }
    }

    /** A run's noise, measured within the run: the coefficients of variation of its per-second ok counts and p99s. */
    public record Noise(double throughputCv, double p99Cv, int seconds) {
        static Noise of(JsonNode result) {
            JsonNode timeline = result.get("measured").get("timeline");
            List<Double> ok = new ArrayList<>();
            List<Double> p99 = new ArrayList<>();
            for (JsonNode second : timeline) {
                ok.add(second.get("ok").asDouble());
                JsonNode secondP99 = second.get("p99Millis");
                // A second in which nothing completed has no p99; it shows in the ok counts instead.
                if (secondP99 != null && secondP99.isNumber()) {
                    p99.add(secondP99.asDouble());
                }
            }
            return new Noise(cv(ok), cv(p99), timeline.size());
        }

        /** Population coefficient of variation; 0 when there is too little to measure (the floors then decide alone). */
        private static double cv(List<Double> values) {
            if (values.size() < 2) {
                return 0;
            }
            double mean = values.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            if (mean == 0) {
                return 0;
            }
            double variance = values.stream().mapToDouble(v -> (v - mean) * (v - mean)).sum() / values.size();
            return Math.sqrt(variance) / mean;
        }
    }

    /** One line of the table; {@code allowed} is empty for a metric that is shown, not flagged. */
    public record Row(String metric, String a, String b, String change, String allowed, boolean regression) {
    }

    public record Comparison(List<Row> rows, List<String> notes, Noise noiseA, Noise noiseB, Rule rule) {
        public boolean regressed() {
            return rows.stream().anyMatch(Row::regression);
        }

        public List<String> flagged() {
            return rows.stream().filter(Row::regression).map(Row::metric).toList();
        }
    }

    /** Compares B against A; both must have passed {@link ResultReader#check}. */
    public static Comparison compare(JsonNode a, JsonNode b, Rule rule) {
        Objects.requireNonNull(rule, "rule");
        ResultReader.check(a);
        ResultReader.check(b);
        Noise noiseA = Noise.of(a);
        Noise noiseB = Noise.of(b);
        List<Row> rows = new ArrayList<>();

        double throughputA = a.get("measured").get("throughputPerSecond").asDouble();
        double throughputB = b.get("measured").get("throughputPerSecond").asDouble();
        double throughputAllowed = Math.max(rule.throughputFloor(),
                rule.noiseFactor() * Math.hypot(noiseA.throughputCv(), noiseB.throughputCv()));
        boolean slower = throughputB < throughputA * (1 - throughputAllowed);
        rows.add(new Row("throughput/s", number(throughputA), number(throughputB), change(throughputA, throughputB),
                String.format(Locale.ROOT, "-%.1f%%", 100 * throughputAllowed), slower));

        JsonNode latencyA = a.get("measured").get("latencyMillis");
        JsonNode latencyB = b.get("measured").get("latencyMillis");
        double p99Allowed = Math.max(rule.p99Floor(), rule.noiseFactor() * Math.hypot(noiseA.p99Cv(), noiseB.p99Cv()));
        for (int i = 0; i < ResultReader.PERCENTILES.size(); i++) {
            String field = ResultReader.PERCENTILES.get(i);
            double valueA = latencyA.get(field).asDouble();
            double valueB = latencyB.get(field).asDouble();
            boolean isP99 = field.equals("p99");
            rows.add(new Row(PERCENTILE_LABELS.get(i) + " ms", number(valueA), number(valueB), change(valueA, valueB),
                    isP99 ? String.format(Locale.ROOT, "+%.1f%%", 100 * p99Allowed) : "",
                    isP99 && valueB > valueA * (1 + p99Allowed)));
        }

        double errorsA = errorRatio(a);
        double errorsB = errorRatio(b);
        rows.add(new Row("error ratio", percent(errorsA), percent(errorsB),
                String.format(Locale.ROOT, "%+.2f pt", points(errorsB - errorsA)), "", false));

        boolean ledgerA = a.get("ledgerCheck").get("ok").asBoolean();
        boolean ledgerB = b.get("ledgerCheck").get("ok").asBoolean();
        rows.add(new Row("ledger check", ledger(a), ledger(b), "", "must be ok", !ledgerA || !ledgerB));

        List<String> notes = new ArrayList<>();
        if (!a.get("scenario").asText().equals(b.get("scenario").asText())) {
            notes.add("note: A ran scenario " + a.get("scenario").asText() + ", B ran " + b.get("scenario").asText()
                    + ": the comparison is not like for like");
        }
        for (String setting : LIKE_FOR_LIKE) {
            JsonNode settingA = a.get("settings").get(setting);
            JsonNode settingB = b.get("settings").get(setting);
            if (!Objects.equals(settingA, settingB)) {
                notes.add("note: settings." + setting + " differs (A " + settingA + ", B " + settingB
                        + "): the comparison may not be like for like");
            }
        }
        if (noiseA.seconds() < 2 || noiseB.seconds() < 2) {
            notes.add("note: a timeline shorter than 2 seconds measures no noise; the floors alone decide");
        }
        return new Comparison(List.copyOf(rows), List.copyOf(notes), noiseA, noiseB, rule);
    }

    /** The comparison as text: the table, the noise measured, the rule, and the verdict. */
    public static String render(Comparison comparison, String nameA, String nameB, JsonNode a, JsonNode b) {
        StringBuilder out = new StringBuilder();
        out.append("A: ").append(nameA).append("  ").append(describe(a)).append('\n');
        out.append("B: ").append(nameB).append("  ").append(describe(b)).append('\n');
        String format = "%-14s %14s %14s %10s %13s  %s%n";
        out.append(String.format(Locale.ROOT, format, "metric", "A", "B", "change", "flag beyond", ""));
        for (Row row : comparison.rows()) {
            out.append(String.format(Locale.ROOT, format, row.metric(), row.a(), row.b(), row.change(), row.allowed(),
                    row.regression() ? "REGRESSION" : ""));
        }
        Rule rule = comparison.rule();
        out.append(String.format(Locale.ROOT,
                "noise (per-second coefficient of variation): ok/s A %.1f%% B %.1f%%, p99 A %.1f%% B %.1f%%%n",
                100 * comparison.noiseA().throughputCv(), 100 * comparison.noiseB().throughputCv(),
                100 * comparison.noiseA().p99Cv(), 100 * comparison.noiseB().p99Cv()));
        out.append("rule: ").append(RULE).append('\n');
        out.append(String.format(Locale.ROOT, "rule values: throughput floor %.1f%%, p99 floor %.1f%%, k %.2f%n",
                100 * rule.throughputFloor(), 100 * rule.p99Floor(), rule.noiseFactor()));
        comparison.notes().forEach(note -> out.append(note).append('\n'));
        out.append(comparison.regressed()
                ? "result: REGRESSION (" + String.join(", ", comparison.flagged()) + ")\n"
                : "result: no regression beyond the noise\n");
        return out.toString();
    }

    /**
     * Failed operations over all operations: non-2xx answers plus timeouts, refused connections and other
     * failures, over every answer plus those failures.
     */
    static double errorRatio(JsonNode result) {
        JsonNode measured = result.get("measured");
        long ok = 0;
        long failed = 0;
        var statuses = measured.get("statusCounts").fields();
        while (statuses.hasNext()) {
            var status = statuses.next();
            if (status.getKey().startsWith("2")) {
                ok += status.getValue().asLong();
            } else {
                failed += status.getValue().asLong();
            }
        }
        for (JsonNode count : measured.get("errors")) {
            failed += count.asLong();
        }
        return ok + failed == 0 ? 0 : (double) failed / (ok + failed);
    }

    static String ledger(JsonNode result) {
        JsonNode check = result.get("ledgerCheck");
        if (check.path("skipped").asBoolean()) {
            return "not run";
        }
        return check.get("ok").asBoolean() ? "ok" : "FAILED (" + check.get("discrepancies").size() + ")";
    }

    static String describe(JsonNode result) {
        JsonNode settings = result.get("settings");
        StringBuilder text = new StringBuilder(result.get("scenario").asText());
        if (settings.path("rate").isNumber()) {
            text.append(", open model at ").append(settings.get("rate").asText()).append("/s");
        } else if (settings.path("connections").isNumber()) {
            text.append(", closed model, ").append(settings.get("connections").asText()).append(" connections");
        }
        if (result.hasNonNull("startedAt")) {
            text.append(", started ").append(result.get("startedAt").asText());
        }
        return text.toString();
    }

    /** Counts and rates that are whole print as such; latencies keep two decimals (tens of microseconds). */
    static String number(double value) {
        return value == Math.rint(value) ? String.format(Locale.ROOT, "%.0f", value) : String.format(Locale.ROOT, "%.2f", value);
    }

    static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * fraction);
    }

    /** A difference of fractions in percentage points, rounded to the two decimals shown, so a tiny drop is not printed "-0.00". */
    private static double points(double difference) {
        return Math.round(difference * 10_000) / 100.0;
    }

    static String change(double from, double to) {
        return from == 0 ? "n/a" : String.format(Locale.ROOT, "%+.1f%%", 100 * (to - from) / from);
    }
}
