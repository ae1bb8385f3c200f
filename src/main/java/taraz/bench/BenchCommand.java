package taraz.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.management.OperatingSystemMXBean;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code taraz bench SCENARIO}: load a gateway over its API, measure, check the ledger, write result.json. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {CompareCommand.class, ReportCommand.class},
        description = "load a running gateway through its API (closed or open model), measure latency in an "
                + "HdrHistogram from each request's intended start, then check the ledger through the API",
        footer = {"", "Scenarios:",
                "  settle      a new trip per operation, settled without a hold",
                "  trip        hold, then settle; every 10th trip is cancelled instead",
                "  hot-driver  settle without a hold, every trip paying one driver",
                "  topup       create a top-up, the simulated cardholder pays (--psp-sim-url), poll until CREDITED",
                "  mixed       a ride-hailing hour: 50%% hold then settle, 10%% hold then cancel, 30%% wallet reads,",
                "              5%% settle without a hold, 5%% top-ups (--psp-sim-url)",
                "",
                "Exit status: 0 the run completed and the ledger check is ok; 1 the ledger check found a discrepancy;",
                "2 a usage or setup error."})
public final class BenchCommand implements Callable<Integer> {

    static final int EXIT_OK = 0;
    static final int EXIT_LEDGER = 1;
    static final int EXIT_USAGE = 2;
    static final int CONNECTIONS_MAX = 4_096;
    static final int WALLETS_MAX = 100_000;
    static final double RATE_MAX = 1_000_000;
    static final Duration RUN_MAX = Duration.ofHours(1);
    /** --find-peak: each step's rate is the previous one's times this; --peak-steps is at most PEAK_STEPS_MAX. */
    static final double PEAK_STEP_FACTOR = 1.25;
    static final int PEAK_STEPS_MAX = 100;
    static final Duration PEAK_STEP_WARMUP = Duration.ofSeconds(1);
    static final long GIT_TIMEOUT_SECONDS = 5;
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m)?");

    // Optional to picocli so that `bench compare` and `bench report` need none; a run without one is a usage error.
    @Parameters(index = "0", arity = "0..1", paramLabel = "SCENARIO", description = "settle, trip, hot-driver, topup or mixed")
    String scenarioName;
    @Option(names = "--url", description = "the gateway (default: ${DEFAULT-VALUE})", defaultValue = "http://127.0.0.1:8080")
    String url;
    @Option(names = "--api-key", description = "default: TARAZ_API_KEYS' first key, else $TARAZ_DATA_DIR/api-key or ./data/api-key")
    String apiKey;
    @Option(names = "--admin-token", description = "funds the wallets through /v1/admin/adjustments (default: TARAZ_ADMIN_TOKEN)")
    String adminToken;
    @Option(names = "--psp-sim-url", description = "the PSP simulator, for topup and mixed (its /sim/pay makes the cardholder pay)")
    String pspSimUrl;
    @Option(names = "--connections", description = "closed model: concurrent clients; open model: the connection bound (default: ${DEFAULT-VALUE})",
            defaultValue = "64")
    int connections;
    @Option(names = "--rate", description = "open model: operations per second at constant arrival (default: the closed model)")
    Double rate;
    @Option(names = "--duration", description = "the measured period, e.g. 30s, 2m (default: ${DEFAULT-VALUE})", defaultValue = "30s")
    String duration;
    @Option(names = "--warmup", description = "run before the measured period, not recorded (default: ${DEFAULT-VALUE})", defaultValue = "5s")
    String warmup;
    @Option(names = "--wallets", description = "passengers opened and funded in the setup phase (default: ${DEFAULT-VALUE})",
            defaultValue = "200")
    int wallets;
    @Option(names = "--find-peak", description = "step the open-model rate up until errors appear or p99 passes --slo, "
            + "then measure at --at of that peak")
    boolean findPeak;
    @Option(names = "--start-rate", description = "--find-peak's first rate per second (default: ${DEFAULT-VALUE})", defaultValue = "50")
    double startRate;
    @Option(names = "--step", description = "--find-peak's measured time per step (default: ${DEFAULT-VALUE})", defaultValue = "5s")
    String step;
    @Option(names = "--peak-steps", description = "--find-peak's most steps (default: ${DEFAULT-VALUE})", defaultValue = "40")
    int peakSteps;
    @Option(names = "--slo", description = "--find-peak's p99 bound, e.g. 50ms (default: ${DEFAULT-VALUE})", defaultValue = "50ms")
    String slo;
    @Option(names = "--at", description = "--find-peak measures at this fraction of the peak, e.g. 70%% or 0.7 (default: 70%%)",
            defaultValue = "70%")
    String at;
    @Option(names = "--out", description = "result.json goes here (default: target/bench/SCENARIO-TIMESTAMP)")
    Path out;
    @Option(names = "--baseline", paramLabel = "B.json", description = "an earlier result.json shown beside this run in report.html")
    Path baseline;
    @Option(names = "--pg-version", description = "the gateway's PostgreSQL version, for result.json (the API does not say it)")
    String pgVersion;
    @Option(names = "--acks", paramLabel = "FILE", description = "append one CSV line per money request the gateway answered 2xx "
            + "(op, id, wallets, amounts), flushed as each answer arrives, for a checker such as bench/chaos.sh")
    Path acksFile;
    @Option(names = "--no-ledger-check", description = "skip the ledger check after the run (a checker of its own reads --acks)")
    boolean noLedgerCheck;

    @Override
    public Integer call() {
        Scenario scenario;
        Duration measured;
        Duration warm;
        Duration stepDuration;
        long sloMillis;
        double atFraction;
        JsonNode baselineResult;
        try {
            if (scenarioName == null) {
                throw new IllegalArgumentException("name a scenario: " + Scenario.names() + " (or: bench compare, bench report)");
            }
            scenario = Scenario.parse(scenarioName);
            // Read before the run, so a bad baseline costs nothing.
            baselineResult = baseline == null ? null : ResultReader.read(baseline);
            measured = duration(duration, "--duration");
            warm = duration(warmup, "--warmup");
            stepDuration = duration(step, "--step");
            sloMillis = duration(slo, "--slo").toMillis();
            atFraction = fraction(at);
            validate(scenario, measured, warm);
            apiKey = apiKey != null ? apiKey : defaultApiKey(System.getenv());
            adminToken = adminToken != null ? adminToken : System.getenv("TARAZ_ADMIN_TOKEN");
            if (scenario.fundsWallets() && adminToken == null) {
                throw new IllegalArgumentException("funding the wallets needs --admin-token (or TARAZ_ADMIN_TOKEN)");
            }
        } catch (IllegalArgumentException | ResultReader.BadResult e) {
            System.err.println("bench: " + e.getMessage());
            return EXIT_USAGE;
        }
        Instant startedAt = Instant.now();
        Path outDir = out != null ? out : Path.of("target", "bench", scenario.cliName + "-"
                + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(startedAt));
        Acks acks;
        try {
            acks = acksFile == null ? Acks.NONE : Acks.append(acksFile);
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            return EXIT_USAGE;
        }
        try (acks; Bench bench = new Bench(url, apiKey, adminToken, connections)) {
            long setupStarted = System.nanoTime();
            Workload workload;
            try {
                workload = bench.setup(scenario, wallets, pspSimUrl, acks);
            } catch (RuntimeException e) {
                System.err.println("bench: setup failed: " + e.getMessage());
                return EXIT_USAGE;
            }
            double setupSeconds = (System.nanoTime() - setupStarted) / 1e9;
            System.err.printf("bench %s: setup: %d wallets opened and funded in %.1f s%n", scenario.cliName, wallets, setupSeconds);

            JsonObject peak = null;
            Double measuredRate = rate;
            if (findPeak) {
                peak = findPeak(bench, workload, scenario, stepDuration, sloMillis, atFraction);
                if (peak == null) {
                    System.err.printf("bench: even --start-rate %.1f/s has errors or a p99 over %d ms; start lower%n",
                            startRate, sloMillis);
                    return EXIT_USAGE;
                }
                measuredRate = peak.getDouble("atRate");
            }
            LoadGenerator.Load load = new LoadGenerator.Load(connections, measuredRate, warm, measured);
            Recorder recorder = bench.load(load, workload::next, scenario.cliName, System.err::println);
            if (acks.failure() != null) {
                // A checker reading a file with a promise missing would pass a gateway it should not.
                System.err.println("bench: the acks file is incomplete: " + acks.failure());
                return EXIT_USAGE;
            }
            if (acksFile != null) {
                System.err.printf("bench %s: %d acknowledged money requests appended to %s%n", scenario.cliName, acks.lines(), acksFile);
            }
            LedgerCheck.Result check;
            try {
                check = noLedgerCheck ? LedgerCheck.Result.notRun() : bench.check(workload.book());
            } catch (RuntimeException e) {
                System.err.println("bench: the ledger check could not finish: " + e.getMessage());
                check = new LedgerCheck.Result(0, java.util.List.of(new LedgerCheck.Discrepancy("check_failed", url, 0, 0)));
            }
            JsonObject result = result(scenario, startedAt, measuredRate, measured, warm, sloMillis, atFraction,
                    setupSeconds, recorder, peak, check);
            Path file = write(outDir, result);
            Path report = outDir.resolve("report.html");
            try {
                BenchReport.write(new ObjectMapper().readTree(result.encode()), baselineResult, report);
            } catch (IOException e) {
                // The numbers are in result.json already; `bench report` can draw them again.
                System.err.println("bench: report.html not written: " + e.getMessage());
            }
            System.out.println(summary(result, check, file));
            System.out.println("report        " + report);
            return check.ok() ? EXIT_OK : EXIT_LEDGER;
        }
    }

    private void validate(Scenario scenario, Duration measured, Duration warm) {
        if (connections < 1 || connections > CONNECTIONS_MAX) {
            throw new IllegalArgumentException("--connections must be 1.." + CONNECTIONS_MAX);
        }
        if (wallets < 1 || wallets > WALLETS_MAX) {
            throw new IllegalArgumentException("--wallets must be 1.." + WALLETS_MAX);
        }
        if (rate != null && (rate <= 0 || rate > RATE_MAX)) {
            throw new IllegalArgumentException("--rate must be above 0 and at most " + (long) RATE_MAX);
        }
        if (startRate <= 0 || startRate > RATE_MAX) {
            throw new IllegalArgumentException("--start-rate must be above 0 and at most " + (long) RATE_MAX);
        }
        if (peakSteps < 1 || peakSteps > PEAK_STEPS_MAX) {
            throw new IllegalArgumentException("--peak-steps must be 1.." + PEAK_STEPS_MAX);
        }
        if (findPeak && rate != null) {
            throw new IllegalArgumentException("--find-peak chooses the rate itself; leave out --rate");
        }
        if (measured.toSeconds() < 1 || measured.plus(warm).compareTo(RUN_MAX) > 0) {
            throw new IllegalArgumentException("--duration must be at least 1s, and with --warmup at most " + RUN_MAX.toMinutes() + "m");
        }
        if (scenario.needsPsp() && pspSimUrl == null) {
            throw new IllegalArgumentException(scenario.cliName + " needs --psp-sim-url");
        }
        if (!url.startsWith("http://")) {
            throw new IllegalArgumentException("--url must be http:// (the gateway serves plain HTTP/1.1 behind its proxy)");
        }
    }

    /** 30s, 2m, 500ms, or a bare number of seconds; at most 9 digits. */
    static Duration duration(String text, String option) {
        Matcher m = DURATION.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException(option + " '" + text + "' is not a duration like 30s, 2m or 500ms");
        }
        long value = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(value);
            case "m" -> Duration.ofMinutes(value);
            default -> Duration.ofSeconds(value);
        };
    }

    /** 70% or 0.7. */
    static double fraction(String text) {
        try {
            double value = text.endsWith("%") ? Double.parseDouble(text.substring(0, text.length() - 1)) / 100
                    : Double.parseDouble(text);
            if (value <= 0 || value > 1) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--at '" + text + "' must be a fraction of the peak in (0, 1], e.g. 70% or 0.7");
        }
    }

    /** TARAZ_API_KEYS' first key, else the key the gateway generated into its data directory. */
    static String defaultApiKey(Map<String, String> env) {
        String keys = env.get("TARAZ_API_KEYS");
        if (keys != null && !keys.isBlank()) {
            return keys.split(",")[0].trim();
        }
        Path file = Path.of(env.getOrDefault("TARAZ_DATA_DIR", "data"), "api-key");
        try {
            return Files.readString(file, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new IllegalArgumentException("no API key: give --api-key, set TARAZ_API_KEYS, or make " + file + " readable");
        }
    }

    /** Steps the open-model rate up; null when even the first step fails the SLO. */
    private JsonObject findPeak(Bench bench, Workload workload, Scenario scenario, Duration stepDuration, long sloMillis,
                                double atFraction) {
        JsonArray steps = new JsonArray();
        Double peakRate = null;
        double stepRate = startRate;
        for (int i = 0; i < peakSteps && stepRate <= RATE_MAX; i++) {
            LoadGenerator.Load load = new LoadGenerator.Load(connections, stepRate, PEAK_STEP_WARMUP, stepDuration);
            Recorder recorder = bench.load(load, workload::next, scenario.cliName + String.format(" @%.0f/s", stepRate),
                    System.err::println);
            double errorRatio = recorder.requests() == 0 ? 1.0 : recorder.errors() / (double) recorder.requests();
            steps.add(new JsonObject().put("rate", round(stepRate)).put("throughputPerSecond", round(recorder.throughputPerSecond()))
                    .put("p99Millis", recorder.p99Millis()).put("errorRatio", round(errorRatio)));
            System.err.printf("bench %s: step %.0f/s: %.1f ok/s, p99 %.1f ms, errors %.2f%%%n", scenario.cliName, stepRate,
                    recorder.throughputPerSecond(), recorder.p99Millis(), errorRatio * 100);
            if (errorRatio > 0 || recorder.p99Millis() > sloMillis) {
                break;
            }
            peakRate = stepRate;
            stepRate *= PEAK_STEP_FACTOR;
        }
        if (peakRate == null) {
            return null;
        }
        return new JsonObject().put("steps", steps).put("peakRate", round(peakRate)).put("atRate", round(peakRate * atFraction));
    }

    private JsonObject result(Scenario scenario, Instant startedAt, Double measuredRate, Duration measured, Duration warm,
                              long sloMillis, double atFraction, double setupSeconds, Recorder recorder, JsonObject peak,
                              LedgerCheck.Result check) {
        return new JsonObject()
                .put("format", 1)
                .put("scenario", scenario.cliName)
                .put("startedAt", startedAt.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString())
                .put("settings", new JsonObject()
                        .put("url", url)
                        .put("model", measuredRate == null ? "closed" : "open")
                        .put("connections", connections)
                        .put("rate", measuredRate)
                        .put("durationSeconds", measured.toSeconds())
                        .put("warmupSeconds", warm.toMillis() / 1000.0)
                        .put("wallets", wallets)
                        .put("sloMillis", sloMillis)
                        .put("findPeak", findPeak)
                        .put("atFraction", atFraction))
                .put("machine", machine())
                .put("setup", new JsonObject().put("seconds", round(setupSeconds)).put("wallets", wallets))
                .put("measured", recorder.toJson())
                .put("peak", peak)
                .put("ledgerCheck", check.toJson());
    }

    private JsonObject machine() {
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        return new JsonObject()
                .put("cores", Runtime.getRuntime().availableProcessors())
                .put("memoryBytes", os.getTotalMemorySize())
                .put("jvm", System.getProperty("java.version") + " (" + System.getProperty("java.vm.vendor") + ")")
                .put("postgres", pgVersion)
                .put("gitCommit", gitCommit());
    }

    /** The commit the harness runs from, or null outside a git checkout. */
    static String gitCommit() {
        try {
            Process git = new ProcessBuilder("git", "rev-parse", "--short", "HEAD").redirectErrorStream(true).start();
            if (!git.waitFor(GIT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                git.destroyForcibly();
                return null;
            }
            String text = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return git.exitValue() == 0 && !text.isEmpty() ? text : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static Path write(Path dir, JsonObject result) {
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve("result.json");
            Files.writeString(file, result.encodePrettily() + "\n", StandardCharsets.UTF_8);
            return file;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("writing result.json under " + dir, e);
        }
    }

    private static String summary(JsonObject result, LedgerCheck.Result check, Path file) {
        JsonObject settings = result.getJsonObject("settings");
        JsonObject m = result.getJsonObject("measured");
        JsonObject latency = m.getJsonObject("latencyMillis");
        JsonObject errors = m.getJsonObject("errors");
        StringBuilder text = new StringBuilder();
        String model = "closed".equals(settings.getString("model")) ? "closed, " + settings.getInteger("connections") + " connections"
                : String.format("open, %.1f/s, at most %d connections", settings.getDouble("rate"), settings.getInteger("connections"));
        text.append(String.format("%-13s %s (%s)%n", "scenario", result.getString("scenario"), model));
        text.append(String.format("%-13s %d wallets in %.1f s%n", "setup", result.getJsonObject("setup").getInteger("wallets"),
                result.getJsonObject("setup").getDouble("seconds")));
        JsonObject peak = result.getJsonObject("peak");
        if (peak != null) {
            text.append(String.format("%-13s %.1f/s (%d steps); measured at %.1f/s%n", "peak", peak.getDouble("peakRate"),
                    peak.getJsonArray("steps").size(), peak.getDouble("atRate")));
        }
        text.append(String.format("%-13s %.0f s, %d operations, %.1f ok/s%n", "measured", m.getDouble("seconds"),
                m.getLong("requests"), m.getDouble("throughputPerSecond")));
        text.append(String.format("%-13s p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f%n", "latency ms",
                latency.getDouble("p50"), latency.getDouble("p90"), latency.getDouble("p99"), latency.getDouble("p999"),
                latency.getDouble("max"), latency.getDouble("mean")));
        text.append(String.format("%-13s %s%n", "statuses", m.getJsonObject("statusCounts").encode()));
        text.append(String.format("%-13s timeout %d, connect %d, other %d%n", "no answer", errors.getLong("timeout"),
                errors.getLong("connect"), errors.getLong("other")));
        text.append(check.line()).append('\n');
        text.append(String.format("%-13s %s", "result", file));
        return text.toString();
    }

    private static double round(double value) {
        return Math.round(value * 1000.0) / 1000.0;
    }
}
