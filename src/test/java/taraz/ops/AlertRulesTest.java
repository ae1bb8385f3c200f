package taraz.ops;

import org.junit.jupiter.api.Test;
import taraz.support.Executables;
import taraz.support.Yamls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static taraz.support.Yamls.list;
import static taraz.support.Yamls.map;

/**
 * The shipped Prometheus rules ({@code conf/prometheus}): promtool's own check and its unit tests, run as
 * child processes (skipped when promtool, from Debian's {@code prometheus} package, is not installed; .ci/run
 * installs it), and, without promtool, the promises every alert makes: a severity, a summary with the numbers,
 * its own section of docs/runbook.md, and unit tests that see it fire and see it stay quiet.
 */
class AlertRulesTest {

    private static final Path RULES = Path.of("conf", "prometheus");
    private static final Path ALERTS = RULES.resolve("alerts.yml");
    private static final Path RECORDING = RULES.resolve("recording.yml");
    private static final Path RUNBOOK = Path.of("docs", "runbook.md");
    private static final long PROMTOOL_TIMEOUT_SECONDS = 120;
    private static final Set<String> SEVERITIES = Set.of("critical", "warning");

    @Test
    void promtoolChecksTheRulesAndRunsTheirUnitTests() throws Exception {
        Optional<Path> promtool = Executables.find("promtool");
        assumeTrue(promtool.isPresent(), "promtool is not installed (apt-get install -y prometheus)");

        String checked = promtool(promtool.get(), "check", "rules", ALERTS.toString(), RECORDING.toString());
        assertTrue(checked.contains("SUCCESS"), checked);
        List<String> command = new ArrayList<>(List.of("test", "rules"));
        testFiles().forEach(file -> command.add(file.toString()));
        String tested = promtool(promtool.get(), command.toArray(String[]::new));
        assertFalse(tested.contains("FAILED"), tested);
    }

    @Test
    void everyAlertHasASeverityItsNumbersARunbookSectionAndTestsThatFireAndStayQuiet() throws IOException {
        String runbook = Files.readString(RUNBOOK);
        Set<String> fired = new TreeSet<>();
        Set<String> quiet = new TreeSet<>();
        for (Path file : testFiles()) {
            for (Map<String, Object> test : list(Yamls.documents(file).get(0), "tests")) {
                for (Map<String, Object> expectation : list(test, "alert_rule_test")) {
                    String alert = (String) expectation.get("alertname");
                    (list(expectation, "exp_alerts").isEmpty() ? quiet : fired).add(alert);
                }
            }
        }
        Set<String> alerts = new TreeSet<>();
        for (Map<String, Object> group : list(Yamls.documents(ALERTS).get(0), "groups")) {
            for (Map<String, Object> rule : list(group, "rules")) {
                String alert = (String) rule.get("alert");
                alerts.add(alert);
                assertTrue(SEVERITIES.contains(map(rule, "labels").get("severity")), alert + ": severity " + SEVERITIES);
                Map<String, Object> annotations = map(rule, "annotations");
                assertTrue(String.valueOf(annotations.get("summary")).contains("$value"), alert + ": the summary shows the value");
                assertEquals("docs/runbook.md#" + alert.toLowerCase(java.util.Locale.ROOT), annotations.get("runbook_url"), alert);
                assertTrue(runbook.contains("\n## " + alert + "\n"), alert + " has a section '## " + alert + "' in " + RUNBOOK);
                assertTrue(fired.contains(alert), alert + ": a unit test where it fires");
                assertTrue(quiet.contains(alert), alert + ": a unit test where it stays quiet");
            }
        }
        // The issue's list (13, item 1): each item has its alert.
        assertTrue(alerts.containsAll(Set.of("TarazPaidNotCredited", "TarazDoubleChargeOrCredit", "TarazDriverNotCredited",
                "TarazLedgerImbalance", "TarazBalanceOrHoldDrift", "TarazStuckPayments", "TarazJournalAppendErrors",
                "TarazJournalSyncLag", "TarazRecoveryUnresolved", "TarazPspErrors", "TarazPspSlow",
                "TarazReconciliationStale", "TarazHttp5xx", "TarazReplicaNotReady", "TarazDrainDeadlineReached",
                "TarazWriteQueueSaturated")), alerts.toString());
        Matcher sections = Pattern.compile("(?m)^## (Taraz\\w+)$").matcher(runbook);
        while (sections.find()) {
            assertTrue(alerts.contains(sections.group(1)), "the runbook's section " + sections.group(1) + " is an alert");
        }
    }

    /** The promtool unit test files: every {@code *_test.yml} beside the rules. */
    private static List<Path> testFiles() throws IOException {
        try (var files = Files.list(RULES)) {
            List<Path> tests = files.filter(f -> f.getFileName().toString().endsWith("_test.yml")).sorted().toList();
            assertFalse(tests.isEmpty(), "unit tests in " + RULES);
            return tests;
        }
    }

    /** Runs promtool, bounded; its output, after asserting it exited 0. */
    private static String promtool(Path promtool, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(promtool.toString()));
        command.addAll(List.of(args));
        // To a file, not a pipe: a promtool that hangs cannot hold the read, only the bounded wait.
        Path log = Files.createTempFile("promtool-", ".log");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!process.waitFor(PROMTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("promtool " + String.join(" ", args) + " still running after "
                        + PROMTOOL_TIMEOUT_SECONDS + " s:\n" + Files.readString(log));
            }
            String text = Files.readString(log);
            System.out.printf("promtool %s: exit %d%n%s", String.join(" ", args), process.exitValue(), text);
            assertEquals(0, process.exitValue(), "promtool " + String.join(" ", args) + ":\n" + text);
            return text;
        } finally {
            Files.delete(log);
        }
    }
}
