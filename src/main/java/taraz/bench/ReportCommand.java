package taraz.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code taraz bench report RESULT.json}: writes report.html for a run, a baseline run beside it if given. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Write report.html for a bench run (result.json, format 1): one self-contained offline page with"
                + " throughput over time, latency by percentile, the find-peak steps when present, settings, machine,"
                + " status counts, errors and the ledger check; with --baseline, that run beside it."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:report written", "1:the report could not be written", "2:bad input (a file that is not a result.json of format 1)"})
public final class ReportCommand implements Callable<Integer> {
    static final int WRITTEN = 0;
    static final int NOT_WRITTEN = 1;
    static final int BAD_INPUT = 2;

    @Parameters(index = "0", paramLabel = "RESULT.json", description = "the run")
    Path result;

    @Option(names = "--baseline", paramLabel = "B.json", description = "a run to show beside it")
    Path baseline;

    @Option(names = "--out", paramLabel = "FILE", description = "where to write (default: report.html beside RESULT.json)")
    Path out;

    @Spec
    CommandSpec spec;

    public ReportCommand() {
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        JsonNode run;
        JsonNode baselineRun;
        try {
            run = ResultReader.read(result);
            baselineRun = baseline == null ? null : ResultReader.read(baseline);
        } catch (ResultReader.BadResult e) {
            err.println("taraz bench report: " + e.getMessage());
            err.flush();
            return BAD_INPUT;
        }
        Path html = out != null ? out : result.toAbsolutePath().resolveSibling("report.html");
        try {
            BenchReport.write(run, baselineRun, html);
        } catch (IOException e) {
            err.println("taraz bench report: could not write " + html + ": " + e.getMessage());
            err.flush();
            return NOT_WRITTEN;
        }
        spec.commandLine().getOut().println("report: " + html);
        spec.commandLine().getOut().flush();
        return WRITTEN;
    }
}
