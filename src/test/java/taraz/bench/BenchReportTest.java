package taraz.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** report.html: XChart's SVG charts inlined, nothing fetched from the network, the ledger check's outcome on the page. */
class BenchReportTest {
    /** Anything a browser would fetch: a src or href to a URL, a stylesheet import or a CSS url() off the page. */
    static final Pattern REMOTE = Pattern.compile("(?i)(src|href)\\s*=\\s*[\"']?\\s*(https?:)?//|@import|url\\(\\s*[\"']?\\s*(https?:)?//");

    @TempDir
    Path dir;

    private static int count(String text, String what) {
        int found = 0;
        for (int at = text.indexOf(what); at >= 0; at = text.indexOf(what, at + 1)) {
            found++;
        }
        return found;
    }

    private static void assertOffline(String html) {
        Matcher remote = REMOTE.matcher(html);
        assertFalse(remote.find(), () -> "a remote reference: " + html.substring(Math.max(0, remote.start() - 80), Math.min(html.length(), remote.end() + 80)));
        assertFalse(html.contains("<script"), "no script");
        assertFalse(html.contains("<link"), "no linked stylesheet or font");
        assertFalse(html.contains("<img"), "no image");
    }

    private String write(ObjectNode result, ObjectNode baseline) throws IOException {
        Path html = dir.resolve("report.html");
        BenchReport.write(result, baseline, html);
        return Files.readString(html);
    }

    @Test
    void aRunAloneHasItsChartsInlineAndItsLedgerCheck() throws IOException {
        String html = write(SampleResult.steady(400, 80, 0.05, 1), null);

        assertTrue(html.startsWith("<!DOCTYPE html>"), html);
        assertEquals(2, count(html, "<svg"), "throughput over time and latency by percentile");
        assertEquals(count(html, "<svg"), count(html, "</svg>"));
        assertFalse(html.contains("<?xml") || html.contains("<!DOCTYPE svg"), "the SVG documents' prologs are dropped inside HTML");
        assertOffline(html);
        assertTrue(html.contains("this run: ledger check: ok"), html);
        assertFalse(html.contains("baseline"), "no baseline column without a baseline");
        assertTrue(html.contains("<td>gitCommit</td><td>af12481</td>"), "the machine table");
        assertTrue(html.contains("<td>timeout</td><td>0</td>"), "the errors table");
        assertTrue(html.contains("<td>200</td><td>"), "the status counts table");
    }

    @Test
    void aFindPeakRunBesideABaselineHasThePeakChartsAndBothSeries() throws IOException {
        ObjectNode result = SampleResult.withPeak(SampleResult.steady(630, 30, 0.05, 1));
        ObjectNode baseline = SampleResult.withPeak(SampleResult.steady(600, 35, 0.05, 2));

        String html = write(result, baseline);

        assertEquals(4, count(html, "<svg"), "throughput, latency, and per find-peak step throughput and p99");
        assertOffline(html);
        assertTrue(html.contains("this run: ledger check: ok") && html.contains("baseline: ledger check: ok"), html);
        assertTrue(html.contains("this run: peak rate 900/s, measured at 630/s"), html);
        assertTrue(html.contains("<th>this run</th><th>baseline</th><th>change</th>"), html);
        // Each chart's clip paths are its own: no id appears twice on the page.
        Matcher ids = Pattern.compile("\\bid=\"([^\"]+)\"").matcher(html);
        Set<String> seen = new HashSet<>();
        while (ids.find()) {
            assertTrue(seen.add(ids.group(1)), "id " + ids.group(1) + " twice on the page");
        }
    }

    @Test
    void aFailedLedgerCheckIsShownFirstWithItsDiscrepancies() throws IOException {
        String html = write(SampleResult.withDoubleCharge(SampleResult.steady(400, 80, 0.05, 1)), SampleResult.steady(400, 80, 0.05, 2));

        int failed = html.indexOf("this run: ledger check: FAILED");
        assertTrue(failed > 0, html);
        assertTrue(failed < html.indexOf("<svg"), "the failure comes before any chart");
        assertTrue(html.contains("class=\"ledger-failed\""), html);
        assertTrue(html.contains("<td>charged-twice</td><td>trip-4711</td><td>1</td><td>2</td>"), html);
        assertTrue(html.contains("baseline: ledger check: ok"), html);
    }

    @Test
    void aSkippedLedgerCheckIsShownAsNotRunNeitherOkNorFailed() throws IOException {
        ObjectNode result = SampleResult.steady(400, 80, 0.05, 1);
        ((ObjectNode) result.get("ledgerCheck")).put("skipped", true).put("checkedSettlements", 0);

        String html = write(result, null);
        assertTrue(html.contains("this run: ledger check: not run (--no-ledger-check)"), html);
        assertFalse(html.contains("ledger check: ok") || html.contains("ledger check: FAILED"), html);
        assertEquals("not run", BenchCompare.ledger(result));
    }

    @Test
    void theReportCommandWritesBesideTheResultAndRefusesBadInput() throws IOException {
        Path result = SampleResult.write(SampleResult.steady(400, 80, 0.05, 1), dir.resolve("result.json"));
        Path baseline = SampleResult.write(SampleResult.steady(380, 90, 0.05, 2), dir.resolve("baseline.json"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine command = new CommandLine(new ReportCommand()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err));

        assertEquals(ReportCommand.WRITTEN, command.execute(result.toString(), "--baseline", baseline.toString()), err.toString());
        String html = Files.readString(dir.resolve("report.html"));
        assertEquals(2, count(html, "<svg"));
        assertTrue(html.contains("baseline: ledger check: ok"), html);

        Files.delete(dir.resolve("report.html"));
        Path notAResult = SampleResult.writeText("{\"scenario\": \"settle\"}", dir.resolve("other.json"));
        assertEquals(ReportCommand.BAD_INPUT, command.execute(result.toString(), "--baseline", notAResult.toString()));
        assertTrue(err.toString().contains(notAResult + ": not a result.json: no \"format\" number"), err.toString());
        assertFalse(Files.exists(dir.resolve("report.html")), "nothing written on bad input");
    }
}
