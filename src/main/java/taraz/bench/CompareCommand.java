package taraz.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code taraz bench compare A.json B.json}: the differences between two runs, and B's regressions beyond the noise. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Compare two bench runs (result.json, format 1): throughput, p50/p90/p99/p99.9/max, error ratio"
                + " and the ledger check, A the reference, B the candidate.", "", BenchCompare.RULE},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:no regression", "1:a regression flagged", "2:bad input (a file that is not a result.json of format 1)"})
public final class CompareCommand implements Callable<Integer> {
    static final int NO_REGRESSION = 0;
    static final int REGRESSION = 1;
    static final int BAD_INPUT = 2;

    @Parameters(index = "0", paramLabel = "A.json", description = "the reference run")
    Path a;

    @Parameters(index = "1", paramLabel = "B.json", description = "the run compared against A")
    Path b;

    @Option(names = "--throughput-floor", paramLabel = "FRACTION", defaultValue = "0.05",
            description = "the smallest throughput drop flagged, as a fraction of A's (default: ${DEFAULT-VALUE})")
    double throughputFloor;

    @Option(names = "--p99-floor", paramLabel = "FRACTION", defaultValue = "0.10",
            description = "the smallest p99 rise flagged, as a fraction of A's (default: ${DEFAULT-VALUE})")
    double p99Floor;

    @Option(names = "--noise-factor", paramLabel = "K", defaultValue = "2.0",
            description = "k: how many times the combined noise a change must exceed (default: ${DEFAULT-VALUE})")
    double noiseFactor;

    @Spec
    CommandSpec spec;

    public CompareCommand() {
    }

    @Override
    public Integer call() {
        BenchCompare.Rule rule;
        try {
            rule = new BenchCompare.Rule(throughputFloor, p99Floor, noiseFactor);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter err = spec.commandLine().getErr();
        JsonNode resultA;
        JsonNode resultB;
        try {
            resultA = ResultReader.read(a);
            resultB = ResultReader.read(b);
        } catch (ResultReader.BadResult e) {
            err.println("taraz bench compare: " + e.getMessage());
            err.flush();
            return BAD_INPUT;
        }
        BenchCompare.Comparison comparison = BenchCompare.compare(resultA, resultB, rule);
        PrintWriter out = spec.commandLine().getOut();
        out.print(BenchCompare.render(comparison, a.toString(), b.toString(), resultA, resultB));
        out.flush();
        return comparison.regressed() ? REGRESSION : NO_REGRESSION;
    }
}
