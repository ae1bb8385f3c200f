package taraz.ops;

import org.junit.jupiter.api.Test;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;
import taraz.support.TestPsp;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's walkthrough, run as it stands with bash, curl and jq against a real gateway and simulator that the
 * test starts in place of its first two lines: on the embedded defaults (no key or token configured, so both are
 * read from the files the first start generates), every step prints what its comment says.
 */
class ReadmeWalkthroughTest {

    private static final Pattern BLOCK = Pattern.compile("<!-- walkthrough -->\\s*```sh\\n(.*?)```\\s*<!-- /walkthrough -->",
            Pattern.DOTALL);
    private static final long SCRIPT_TIMEOUT_SECONDS = 120;

    @Test
    void theWalkthroughRunsByCopyAndPaste() throws Exception {
        Matcher m = BLOCK.matcher(Files.readString(Path.of("README.md")));
        assertTrue(m.find(), "README.md has the walkthrough block");
        Path dir = TestGateway.tempDir("walkthrough-");
        TestPsp psp = TestPsp.start(dir.resolve("sim"));
        GatewayProcess gateway = null;
        try {
            int port = TestGateway.freePort();
            gateway = GatewayProcess.start(dir.resolve("data"), port, Map.of("TARAZ_API_KEYS", "", "TARAZ_ADMIN_TOKEN", "",
                    "TARAZ_PSP_URL", psp.baseUrl(), "TARAZ_PAYOUT_URL", psp.baseUrl()));
            String script = m.group(1).lines().filter(line -> !line.startsWith("java -jar "))
                    .map(line -> line.replace("http://127.0.0.1:8080", gateway(port)).replace("http://127.0.0.1:9090", psp.baseUrl()))
                    .collect(Collectors.joining("\n"));
            Process bash = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script).directory(dir.toFile())
                    .redirectErrorStream(true).start();
            assertTrue(bash.waitFor(SCRIPT_TIMEOUT_SECONDS, TimeUnit.SECONDS), "the walkthrough ends");
            String output = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, bash.exitValue(), output);
            List<String> lines = output.lines().toList();
            assertEquals(List.of("CREDITED", "HELD", "SETTLED", "PAID", "{\"balance\":20000,\"available\":20000}"),
                    lines.subList(0, 5), output);
            assertTrue(Integer.parseInt(lines.get(5)) >= 3, output);
        } finally {
            if (gateway != null) {
                gateway.close();
            }
            psp.stop();
        }
    }

    private static String gateway(int port) {
        return "http://127.0.0.1:" + port;
    }
}
