package taraz.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code taraz bench compare}: regressions flagged beyond the noise each run measured, a rerun passed, bad input refused. */
class BenchCompareTest {
    /** Per-second ok counts and p99s within 3 percent of their level: a quiet machine. */
    static final double STEADY = 0.03;

    @TempDir
    Path dir;

    private String out;
    private String err;

    private int compare(ObjectNode a, ObjectNode b) throws IOException {
        return compare(SampleResult.write(a, dir.resolve("a.json")).toString(), SampleResult.write(b, dir.resolve("b.json")).toString());
    }

    private int compare(String... args) {
        StringWriter outText = new StringWriter();
        StringWriter errText = new StringWriter();
        CommandLine command = new CommandLine(new CompareCommand())
                .setOut(new PrintWriter(outText)).setErr(new PrintWriter(errText));
        int status = command.execute(args);
        out = outText.toString();
        err = errText.toString();
        return status;
    }

    private String row(String metric) {
        return out.lines().filter(line -> line.startsWith(metric)).findFirst().orElseThrow(() -> new AssertionError("no " + metric + " row in:\n" + out));
    }

    @Test
    void throughputThirtyPercentLowerIsFlagged() throws IOException {
        int status = compare(SampleResult.steady(400, 80, STEADY, 1), SampleResult.steady(280, 80, STEADY, 2));

        assertEquals(CompareCommand.REGRESSION, status, out);
        assertTrue(row("throughput/s").endsWith("REGRESSION"), out);
        assertTrue(!row("p99 ms").endsWith("REGRESSION"), out);
        assertTrue(out.contains("result: REGRESSION (throughput/s)"), out);
        assertTrue(out.contains("rule: " + BenchCompare.RULE), "the output states the rule:\n" + out);
    }

    @Test
    void p99DoubledIsFlagged() throws IOException {
        int status = compare(SampleResult.steady(400, 80, STEADY, 1), SampleResult.steady(400, 160, STEADY, 2));

        assertEquals(CompareCommand.REGRESSION, status, out);
        assertTrue(row("p99 ms").endsWith("REGRESSION"), out);
        assertTrue(!row("throughput/s").endsWith("REGRESSION"), out);
        assertTrue(!row("p50 ms").endsWith("REGRESSION"), "only p99 is judged among the percentiles:\n" + out);
    }

    @Test
    void aRerunWithinTheNoisePasses() throws IOException {
        // The same run again: another draw of the same jitter, its overall p99 a little higher.
        int status = compare(SampleResult.steady(400, 80, STEADY, 1), SampleResult.steady(400, 82, STEADY, 2));

        assertEquals(CompareCommand.NO_REGRESSION, status, out);
        assertTrue(out.contains("result: no regression beyond the noise"), out);
    }

    @Test
    void theSameDropIsFlaggedOnAQuietMachineAndNotOnANoisyOne() throws IOException {
        assertEquals(CompareCommand.REGRESSION,
                compare(SampleResult.steady(400, 80, STEADY, 1), SampleResult.steady(320, 80, STEADY, 2)), out);

        // Per-second ok counts within 40 percent: a 20 percent drop is within what these runs measured as noise.
        double noisy = 0.40;
        assertEquals(CompareCommand.NO_REGRESSION,
                compare(SampleResult.steady(400, 80, noisy, 1), SampleResult.steady(320, 80, noisy, 2)), out);
        assertTrue(!row("throughput/s").endsWith("REGRESSION"), out);
    }

    @Test
    void aFailedLedgerCheckInEitherRunIsAlwaysFlagged() throws IOException {
        assertEquals(CompareCommand.REGRESSION,
                compare(SampleResult.steady(400, 80, STEADY, 1), SampleResult.withDoubleCharge(SampleResult.steady(400, 80, STEADY, 1))), out);
        assertTrue(row("ledger check").endsWith("REGRESSION"), out);

        assertEquals(CompareCommand.REGRESSION,
                compare(SampleResult.withDoubleCharge(SampleResult.steady(400, 80, STEADY, 1)), SampleResult.steady(400, 80, STEADY, 1)), out);
        assertTrue(row("ledger check").contains("FAILED (1)"), out);
    }

    @Test
    void badInputExitsTwoWithAClearMessage() throws IOException {
        Path good = SampleResult.write(SampleResult.steady(400, 80, STEADY, 1), dir.resolve("good.json"));

        Path notJson = SampleResult.writeText("ok 400/s", dir.resolve("notes.txt"));
        assertEquals(CompareCommand.BAD_INPUT, compare(good.toString(), notJson.toString()));
        assertTrue(err.contains(notJson + ": not JSON"), err);

        ObjectNode formatTwo = SampleResult.steady(400, 80, STEADY, 1);
        formatTwo.put("format", 2);
        Path future = SampleResult.write(formatTwo, dir.resolve("future.json"));
        assertEquals(CompareCommand.BAD_INPUT, compare(future.toString(), good.toString()));
        assertTrue(err.contains("result.json format 2, this tool reads format 1"), err);

        ObjectNode noMeasured = SampleResult.steady(400, 80, STEADY, 1);
        noMeasured.remove("measured");
        Path partial = SampleResult.write(noMeasured, dir.resolve("partial.json"));
        assertEquals(CompareCommand.BAD_INPUT, compare(good.toString(), partial.toString()));
        assertTrue(err.contains(partial + ": \"measured\" is not an object"), err);

        Path missing = dir.resolve("missing.json");
        assertEquals(CompareCommand.BAD_INPUT, compare(good.toString(), missing.toString()));
        assertTrue(err.contains(missing + ": no such file"), err);

        assertEquals(CompareCommand.BAD_INPUT, compare(good.toString()), "B.json is required");
        assertTrue(out.isEmpty(), "nothing compared on bad input:\n" + out);
    }

    @Test
    void helpStatesTheRule() {
        assertEquals(0, compare("--help"));
        String help = out.replaceAll("\\s+", " ");
        assertTrue(help.contains(BenchCompare.RULE), help);
        assertTrue(help.contains("default: 0.05") && help.contains("default: 0.1") && help.contains("default: 2.0"), help);
    }
}
