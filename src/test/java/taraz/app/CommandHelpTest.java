package taraz.app;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import taraz.support.GatewayProcess;
import taraz.support.TestGateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the executable says about itself, run as a real child process: help, version, serve's settings, reconcile's exit codes. */
class CommandHelpTest {

    private static final long TIMEOUT_MILLIS = 60_000;

    @Test
    void helpListsTheCommands() throws Exception {
        String help = run("help");
        assertTrue(help.contains("Usage: taraz"), help);
        for (String command : List.of("serve", "psp-sim", "journal", "reconcile", "bench", "payouts", "version", "help")) {
            assertTrue(Pattern.compile("(?m)^\\s+" + Pattern.quote(command) + "\\s").matcher(help).find(), command + " in:\n" + help);
        }
    }

    /** The version and the commit the build wrote into the classes; "unknown" only where the tree has no git. */
    @Test
    void versionNamesTheCommit() throws Exception {
        String version = run("version").strip();
        String commit = Files.exists(Path.of(".git")) ? "[0-9a-f]{7,40}" : "unknown";
        assertTrue(Pattern.matches("taraz \\d+\\.\\d+\\.\\d+\\S* \\(" + commit + "\\)", version), version);
        assertEquals(version, run("--version").strip());
    }

    @Test
    void serveHelpListsEverySettingWithItsVariableAndDefault() throws Exception {
        String help = run("serve", "--help");
        for (String key : new JsonObject(Files.readString(Path.of("conf", "taraz.json"))).fieldNames()) {
            assertTrue(Pattern.compile("(?m)^\\s+" + key + "\\s").matcher(help).find(), key + " in:\n" + help);
        }
        assertTrue(Pattern.compile("(?m)^\\s+httpHost\\s+TARAZ_HTTP_HOST\\s+0\\.0\\.0\\.0$").matcher(help).find(), help);
        assertTrue(Pattern.compile("(?m)^\\s+pgUrl\\s+TARAZ_PG_URL\\s+none$").matcher(help).find(), help);
        assertTrue(Pattern.compile("(?m)^\\s+ledgerBatchMax\\s+-\\s+1000$").matcher(help).find(), help);
    }

    @Test
    void reconcileHelpListsTheExitCodes() throws Exception {
        String help = run("reconcile", "--help");
        assertTrue(help.contains("Exit status:"), help);
        for (String code : List.of("0", "1", "2")) {
            assertTrue(Pattern.compile("(?m)^\\s+" + code + "\\s+\\S").matcher(help).find(), "exit code " + code + " in:\n" + help);
        }
    }

    private static String run(String... args) throws Exception {
        GatewayProcess.Result result = GatewayProcess.run(List.of(args), TestGateway.tempDir("help-"), TIMEOUT_MILLIS);
        assertEquals(0, result.status(), result.output());
        return result.output();
    }
}
