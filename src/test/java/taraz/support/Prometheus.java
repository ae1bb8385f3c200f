package taraz.support;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Prometheus (Debian's {@code prometheus}) in a child process: it scrapes one gateway's {@code /metrics} every
 * 5 s under the job {@code taraz}, evaluates the shipped rule files every 5 s, and is asked through its HTTP API.
 */
public final class Prometheus implements AutoCloseable {

    /** The scrape and evaluation period. */
    private static final int SCRAPE_SECONDS = 5;
    private static final long READY_TIMEOUT_MILLIS = 60_000;
    private static final long STOP_TIMEOUT_SECONDS = 20;
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

    private final Process process;
    private final Path log;
    private final ApiClient api;

    private Prometheus(Process process, Path log, ApiClient api) {
        this.process = process;
        this.log = log;
        this.api = api;
    }

    /** Starts Prometheus on {@code port}, scraping {@code target} (host:port), with the given rule files. */
    public static Prometheus start(Path binary, Path dir, int port, String target, List<Path> ruleFiles) throws IOException {
        Files.createDirectories(dir);
        StringBuilder config = new StringBuilder()
                .append("global:\n  scrape_interval: ").append(SCRAPE_SECONDS).append("s\n")
                .append("  evaluation_interval: ").append(SCRAPE_SECONDS).append("s\n")
                .append("rule_files:\n");
        for (Path file : ruleFiles) {
            config.append("  - ").append(file.toAbsolutePath()).append('\n');
        }
        config.append("scrape_configs:\n  - job_name: taraz\n    metrics_path: /metrics\n    static_configs:\n")
                .append("      - targets: ['").append(target).append("']\n");
        Path file = dir.resolve("prometheus.yml");
        Files.writeString(file, config);
        Path log = dir.resolve("prometheus.log");
        List<String> command = new ArrayList<>(List.of(binary.toString(), "--config.file=" + file,
                "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Prometheus prometheus = new Prometheus(process, log, new ApiClient("http://127.0.0.1:" + port));
        prometheus.awaitReady();
        return prometheus;
    }

    private void awaitReady() throws IOException {
        try {
            Wait.until("prometheus is ready", READY_TIMEOUT_MILLIS, () -> {
                if (!process.isAlive()) {
                    throw new AssertionError("prometheus exited with " + process.exitValue());
                }
                return api.tryGet("/-/ready", PROBE_TIMEOUT).map(r -> r.status() == 200).orElse(false);
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ":\n" + Files.readString(log), e);
        }
    }

    /** The alerts now firing, by name. */
    public List<String> firing() {
        JsonArray alerts = get("/api/v1/alerts").getJsonObject("data").getJsonArray("alerts");
        List<String> names = new ArrayList<>();
        for (int i = 0; i < alerts.size(); i++) {
            JsonObject alert = alerts.getJsonObject(i);
            if ("firing".equals(alert.getString("state"))) {
                names.add(alert.getJsonObject("labels").getString("alertname"));
            }
        }
        return names;
    }

    /** An instant query's answer: {@code data} of {@code /api/v1/query}; an error (a query that does not parse) fails. */
    public JsonObject query(String promql) {
        return get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8)).getJsonObject("data");
    }

    private JsonObject get(String path) {
        ApiClient.Response response = api.get(path);
        JsonObject body = response.json();
        if (response.status() != 200 || !"success".equals(body.getString("status"))) {
            throw new AssertionError("prometheus " + path + " answered " + response.status() + ": " + response.text());
        }
        return body;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }
}
