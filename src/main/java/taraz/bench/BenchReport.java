package taraz.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.VectorGraphicsEncoder.VectorGraphicsFormat;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Writes a bench run's report.html: one self-contained, offline page (no script, stylesheet, font or
 * image fetched from anywhere), with XChart's charts inlined as SVG and the run's tables, a baseline
 * run beside it when given.
 */
public final class BenchReport {
    static {
        // XChart draws through AWT; a bench host has no display, and the report must not need one.
        System.setProperty("java.awt.headless", "true");
    }

    static final int CHART_WIDTH = 860;
    static final int CHART_HEIGHT = 380;
    static final String RUN = "this run";
    static final String BASELINE = "baseline";

    private static final List<String> PERCENTILE_LABELS = List.of("p50", "p90", "p99", "p99.9", "max");

    private BenchReport() {
    }

    /**
     * Writes the report for {@code result}, with {@code baselineOrNull} beside it, to {@code htmlFile}. Both must be
     * result.json trees of format 1 ({@link ResultReader#check}); the file is replaced whole, never left half-written.
     */
    public static void write(JsonNode result, JsonNode baselineOrNull, Path htmlFile) throws IOException {
        ResultReader.check(result);
        if (baselineOrNull != null) {
            ResultReader.check(baselineOrNull);
        }
        String html = html(result, baselineOrNull);
        Path absolute = htmlFile.toAbsolutePath();
        Path temporary = absolute.resolveSibling(absolute.getFileName() + ".tmp");
        try {
            Files.writeString(temporary, html, StandardCharsets.UTF_8);
            Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    static String html(JsonNode result, JsonNode baseline) throws IOException {
        StringBuilder page = new StringBuilder();
        String scenario = result.get("scenario").asText();
        page.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>taraz bench: ")
                .append(escape(scenario)).append("</title>\n<style>\n").append(STYLE).append("</style>\n</head>\n<body>\n");
        page.append("<h1>taraz bench: ").append(escape(scenario)).append("</h1>\n<p>")
                .append(escape(BenchCompare.describe(result))).append("</p>\n");
        if (baseline != null) {
            page.append("<p>baseline: ").append(escape(BenchCompare.describe(baseline))).append("</p>\n");
        }

        // The ledger check first: a fast number from a wrong ledger is worthless, so a failure comes before any number.
        ledger(page, RUN, result);
        if (baseline != null) {
            ledger(page, BASELINE, baseline);
        }

        page.append("<h2>Summary</h2>\n");
        summary(page, result, baseline);

        page.append("<h2>Throughput over time</h2>\n");
        XYChart throughput = throughputChart(result, baseline);
        page.append(throughput == null ? "<p>No timeline in this run.</p>\n" : svg(throughput, "throughput"));

        page.append("<h2>Latency by percentile</h2>\n");
        page.append(svg(latencyChart(result, baseline), "latency"));

        if (hasPeak(result) || hasPeak(baseline)) {
            page.append("<h2>Find-peak steps</h2>\n");
            page.append(svg(peakChart(result, baseline, "throughputPerSecond", "2xx per second"), "peakthroughput"));
            XYChart p99 = peakChart(result, baseline, "p99Millis", "p99 (ms)");
            sloLine(p99, hasPeak(result) ? result : baseline);
            page.append(svg(p99, "peakp99"));
            peakTable(page, RUN, result);
            if (hasPeak(baseline)) {
                peakTable(page, BASELINE, baseline);
            }
        }

        page.append("<h2>Settings</h2>\n");
        keyValues(page, result.get("settings"), baseline == null ? null : baseline.get("settings"));
        page.append("<h2>Machine</h2>\n");
        keyValues(page, result.get("machine"), baseline == null ? null : baseline.get("machine"));
        page.append("<h2>Setup</h2>\n");
        keyValues(page, result.path("setup"), baseline == null ? null : baseline.path("setup"));
        page.append("<h2>Status counts</h2>\n");
        keyValues(page, result.get("measured").get("statusCounts"),
                baseline == null ? null : baseline.get("measured").get("statusCounts"));
        page.append("<h2>Errors</h2>\n");
        keyValues(page, result.get("measured").get("errors"), baseline == null ? null : baseline.get("measured").get("errors"));
        page.append("</body>\n</html>\n");
        return page.toString();
    }

    private static void ledger(StringBuilder page, String which, JsonNode run) {
        JsonNode check = run.get("ledgerCheck");
        String checked = check.path("checkedSettlements").isNumber()
                ? " (" + check.get("checkedSettlements").asText() + " settlements checked)" : "";
        if (check.path("skipped").asBoolean()) {
            page.append("<p>").append(escape(which)).append(": ledger check: not run (--no-ledger-check)</p>\n");
            return;
        }
        if (check.get("ok").asBoolean()) {
            page.append("<p class=\"ledger-ok\">").append(escape(which)).append(": ledger check: ok")
                    .append(escape(checked)).append("</p>\n");
            return;
        }
        page.append("<div class=\"ledger-failed\">\n<h2>").append(escape(which)).append(": ledger check: FAILED")
                .append(escape(checked)).append("</h2>\n<p>The ledger does not add up after this run:"
                        + " its throughput and latency are not to be trusted.</p>\n");
        JsonNode discrepancies = check.get("discrepancies");
        page.append("<table>\n<tr><th>kind</th><th>id</th><th>expected</th><th>actual</th></tr>\n");
        for (JsonNode discrepancy : discrepancies) {
            page.append("<tr>");
            for (String field : List.of("kind", "id", "expected", "actual")) {
                page.append("<td>").append(escape(scalar(discrepancy.get(field)))).append("</td>");
            }
            page.append("</tr>\n");
        }
        page.append("</table>\n</div>\n");
    }

    private static void summary(StringBuilder page, JsonNode result, JsonNode baseline) {
        page.append("<table>\n<tr><th></th><th>").append(RUN).append("</th>");
        if (baseline != null) {
            page.append("<th>").append(BASELINE).append("</th><th>change</th>");
        }
        page.append("</tr>\n");
        summaryRow(page, "throughput (2xx/s)", result.get("measured").get("throughputPerSecond").asDouble(),
                baseline == null ? null : baseline.get("measured").get("throughputPerSecond").asDouble());
        summaryRow(page, "requests", result.get("measured").path("requests").asDouble(),
                baseline == null ? null : baseline.get("measured").path("requests").asDouble());
        summaryRow(page, "measured seconds", result.get("measured").path("seconds").asDouble(),
                baseline == null ? null : baseline.get("measured").path("seconds").asDouble());
        for (int i = 0; i < ResultReader.PERCENTILES.size(); i++) {
            String field = ResultReader.PERCENTILES.get(i);
            summaryRow(page, PERCENTILE_LABELS.get(i) + " (ms)", result.get("measured").get("latencyMillis").get(field).asDouble(),
                    baseline == null ? null : baseline.get("measured").get("latencyMillis").get(field).asDouble());
        }
        page.append("<tr><td>error ratio</td><td>").append(BenchCompare.percent(BenchCompare.errorRatio(result))).append("</td>");
        if (baseline != null) {
            page.append("<td>").append(BenchCompare.percent(BenchCompare.errorRatio(baseline))).append("</td><td></td>");
        }
        page.append("</tr>\n</table>\n");
    }

    private static void summaryRow(StringBuilder page, String label, double value, Double baselineValue) {
        page.append("<tr><td>").append(escape(label)).append("</td><td>").append(BenchCompare.number(value)).append("</td>");
        if (baselineValue != null) {
            page.append("<td>").append(BenchCompare.number(baselineValue)).append("</td><td>")
                    .append(BenchCompare.change(baselineValue, value)).append("</td>");
        }
        page.append("</tr>\n");
    }

    private static XYChart throughputChart(JsonNode result, JsonNode baseline) {
        JsonNode timeline = result.get("measured").get("timeline");
        if (timeline.isEmpty()) {
            return null;
        }
        XYChart chart = new XYChartBuilder().width(CHART_WIDTH).height(CHART_HEIGHT)
                .title("2xx per second over the measured period").xAxisTitle("second").yAxisTitle("2xx per second").build();
        chart.getStyler().setLegendPosition(LegendPosition.InsideSE);
        // From zero, so a second's dip is read in proportion to the run, not magnified by a fitted axis.
        chart.getStyler().setYAxisMin(0.0);
        chart.addSeries(RUN, column(timeline, "second"), column(timeline, "ok")).setMarker(SeriesMarkers.NONE);
        if (baseline != null && !baseline.get("measured").get("timeline").isEmpty()) {
            JsonNode baselineTimeline = baseline.get("measured").get("timeline");
            chart.addSeries(BASELINE, column(baselineTimeline, "second"), column(baselineTimeline, "ok"))
                    .setMarker(SeriesMarkers.NONE);
        }
        return chart;
    }

    private static CategoryChart latencyChart(JsonNode result, JsonNode baseline) {
        CategoryChart chart = new CategoryChartBuilder().width(CHART_WIDTH).height(CHART_HEIGHT)
                .title("latency by percentile, from the intended send time").xAxisTitle("percentile").yAxisTitle("ms").build();
        chart.getStyler().setLegendPosition(LegendPosition.InsideNW);
        List<Double> values = percentiles(result);
        List<Double> baselineValues = baseline == null ? null : percentiles(baseline);
        chart.addSeries(RUN, PERCENTILE_LABELS, values);
        if (baselineValues != null) {
            chart.addSeries(BASELINE, PERCENTILE_LABELS, baselineValues);
        }
        return chart;
    }

    private static XYChart peakChart(JsonNode result, JsonNode baseline, String field, String axisTitle) {
        XYChart chart = new XYChartBuilder().width(CHART_WIDTH).height(CHART_HEIGHT)
                .title("find-peak: " + axisTitle + " by offered rate").xAxisTitle("offered rate (per second)")
                .yAxisTitle(axisTitle).build();
        chart.getStyler().setLegendPosition(LegendPosition.InsideNW);
        if (hasPeak(result)) {
            JsonNode steps = result.get("peak").get("steps");
            chart.addSeries(RUN, column(steps, "rate"), column(steps, field));
        }
        if (hasPeak(baseline)) {
            JsonNode steps = baseline.get("peak").get("steps");
            chart.addSeries(BASELINE, column(steps, "rate"), column(steps, field));
        }
        return chart;
    }

    /** The SLO find-peak stepped up to, across the steps' rates: the step that crossed it is the peak. */
    private static void sloLine(XYChart chart, JsonNode run) {
        JsonNode slo = run.get("settings").get("sloMillis");
        if (slo == null || !slo.isNumber()) {
            return;
        }
        double[] rates = column(run.get("peak").get("steps"), "rate");
        double lowest = Arrays.stream(rates).min().orElseThrow();
        double highest = Arrays.stream(rates).max().orElseThrow();
        chart.addSeries("SLO " + slo.asText() + " ms", new double[] {lowest, highest}, new double[] {slo.asDouble(), slo.asDouble()})
                .setMarker(SeriesMarkers.NONE);
    }

    private static void peakTable(StringBuilder page, String which, JsonNode run) {
        JsonNode peak = run.get("peak");
        page.append("<h3>").append(escape(which)).append(": peak rate ").append(escape(scalar(peak.get("peakRate"))))
                .append("/s, measured at ").append(escape(scalar(peak.get("atRate")))).append("/s</h3>\n");
        page.append("<table>\n<tr><th>offered rate/s</th><th>2xx/s</th><th>p99 (ms)</th><th>error ratio</th></tr>\n");
        for (JsonNode step : peak.get("steps")) {
            page.append("<tr><td>").append(BenchCompare.number(step.get("rate").asDouble()))
                    .append("</td><td>").append(BenchCompare.number(step.get("throughputPerSecond").asDouble()))
                    .append("</td><td>").append(BenchCompare.number(step.get("p99Millis").asDouble()))
                    .append("</td><td>").append(BenchCompare.percent(step.get("errorRatio").asDouble()))
                    .append("</td></tr>\n");
        }
        page.append("</table>\n");
    }

    /** A two- or three-column table of an object's fields, the baseline's beside; keys from either side. */
    private static void keyValues(StringBuilder page, JsonNode values, JsonNode baselineValues) {
        Set<String> keys = new LinkedHashSet<>();
        values.fieldNames().forEachRemaining(keys::add);
        if (baselineValues != null) {
            baselineValues.fieldNames().forEachRemaining(keys::add);
        }
        if (keys.isEmpty()) {
            page.append("<p>none</p>\n");
            return;
        }
        page.append("<table>\n<tr><th></th><th>").append(RUN).append("</th>");
        if (baselineValues != null) {
            page.append("<th>").append(BASELINE).append("</th>");
        }
        page.append("</tr>\n");
        for (String key : keys) {
            page.append("<tr><td>").append(escape(key)).append("</td><td>").append(escape(scalar(values.get(key)))).append("</td>");
            if (baselineValues != null) {
                page.append("<td>").append(escape(scalar(baselineValues.get(key)))).append("</td>");
            }
            page.append("</tr>\n");
        }
        page.append("</table>\n");
    }

    /**
     * The chart as an inline SVG element: the XML prolog and doctype dropped (they are not allowed inside HTML),
     * and every element id prefixed, so one chart's clip paths cannot clip another's on the same page.
     */
    static String svg(Chart<?, ?> chart, String idPrefix) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        VectorGraphicsEncoder.saveVectorGraphic(chart, bytes, VectorGraphicsFormat.SVG);
        String document = bytes.toString(StandardCharsets.UTF_8);
        int start = document.indexOf("<svg");
        if (start < 0) {
            throw new IOException("XChart's SVG encoder wrote no <svg> element");
        }
        String element = document.substring(start)
                .replaceAll("\\bid=\"([^\"]+)\"", "id=\"" + idPrefix + "-$1\"")
                .replaceAll("url\\(#([^)]+)\\)", "url(#" + idPrefix + "-$1)")
                .replaceAll("href=\"#([^\"]+)\"", "href=\"#" + idPrefix + "-$1\"");
        return "<div class=\"chart\">\n" + element.strip() + "\n</div>\n";
    }

    private static boolean hasPeak(JsonNode run) {
        return run != null && run.hasNonNull("peak") && !run.get("peak").get("steps").isEmpty();
    }

    private static List<Double> percentiles(JsonNode run) {
        JsonNode latency = run.get("measured").get("latencyMillis");
        return ResultReader.PERCENTILES.stream().map(field -> latency.get(field).asDouble()).toList();
    }

    private static double[] column(JsonNode rows, String field) {
        double[] values = new double[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            JsonNode value = rows.get(i).get(field);
            // A second in which nothing completed has no p99; XChart leaves a gap for NaN.
            values[i] = value == null || value.isNull() ? Double.NaN : value.asDouble();
        }
        return values;
    }

    private static String scalar(JsonNode value) {
        if (value == null || value.isNull()) {
            return "";
        }
        return value.isValueNode() ? value.asText() : value.toString();
    }

    static String escape(String text) {
        StringBuilder escaped = new StringBuilder(text.length());
        for (char c : text.toCharArray()) {
            switch (c) {
                case '<' -> escaped.append("&lt;");
                case '>' -> escaped.append("&gt;");
                case '&' -> escaped.append("&amp;");
                case '"' -> escaped.append("&quot;");
                case '\'' -> escaped.append("&#39;");
                default -> escaped.append(c);
            }
        }
        return escaped.toString();
    }

    private static final String STYLE = String.join("\n",
            "body { font-family: sans-serif; margin: 2em; color: #222; }",
            "table { border-collapse: collapse; margin: 0.5em 0 1.5em; }",
            "th, td { border: 1px solid #bbb; padding: 0.25em 0.7em; text-align: right; }",
            "td:first-child, th:first-child { text-align: left; }",
            ".ledger-ok { color: #1a6b1a; font-weight: bold; }",
            ".ledger-failed { border: 4px solid #b00; background: #fee; color: #700; padding: 0.5em 1em; margin: 1em 0; }",
            ".ledger-failed h2 { font-size: 2em; margin: 0.2em 0; }",
            ".chart svg { max-width: 100%; height: auto; }",
            "");
}
