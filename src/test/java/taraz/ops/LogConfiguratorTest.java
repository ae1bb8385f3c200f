package taraz.ops;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.status.Status;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The line formats {@code TARAZ_LOG_FORMAT} chooses, on a logger context of the test's own: a line about a payment
 * written through {@link LogContext}, encoded as the console would write it.
 */
class LogConfiguratorTest {

    @Test
    void jsonByDefault() {
        JsonObject line = new JsonObject(paymentLine(null));
        JsonObject mdc = line.getJsonObject("mdc");
        assertEquals("tp_1", mdc.getString(LogContext.TXN));
        assertEquals("topup", mdc.getString(LogContext.FLOW));
        assertEquals("CREDITED", mdc.getString(LogContext.STATE));
        assertEquals("node-a", mdc.getString(LogContext.NODE));
        assertFalse(mdc.containsKey(LogContext.REQUEST_ID), "no request outside a Vert.x request context");
        assertEquals("INFO", line.getString("level"));
        assertEquals("top-up VERIFIED -> CREDITED", line.getString("formattedMessage"));
        assertTrue(MDC.getCopyOfContextMap() == null || MDC.getCopyOfContextMap().isEmpty(), "the MDC is left empty");
    }

    @Test
    void textOnRequest() {
        String line = paymentLine("text");
        assertFalse(line.startsWith("{"), line);
        assertTrue(line.contains("txn=tp_1") && line.contains("state=CREDITED") && line.contains("node=node-a"), line);
        assertTrue(line.endsWith("top-up VERIFIED -> CREDITED" + System.lineSeparator()), line);
    }

    @Test
    void anUnknownFormatIsJsonWithAWarning() {
        LoggerContext context = new LoggerContext();
        String line = paymentLine(context, "yaml");
        new JsonObject(line);
        assertTrue(context.getStatusManager().getCopyOfStatusList().stream()
                .anyMatch(s -> s.getLevel() == Status.WARN && s.getMessage().contains("TARAZ_LOG_FORMAT=yaml")));
    }

    private static String paymentLine(String format) {
        return paymentLine(new LoggerContext(), format);
    }

    /** One payment line written on {@code context} configured for {@code format}, as its console would write it. */
    @SuppressWarnings("unchecked")
    private static String paymentLine(LoggerContext context, String format) {
        context.setMDCAdapter(MDC.getMDCAdapter());
        LogConfigurator configurator = new LogConfigurator();
        configurator.setContext(context);
        configurator.configure(context, format);
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        // The console's encoder writes into a buffer of the test's, not to the test's own output.
        ConsoleAppender<ILoggingEvent> console = (ConsoleAppender<ILoggingEvent>) root.getAppender("STDOUT");
        root.detachAppender(console);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        OutputStreamAppender<ILoggingEvent> buffer = new OutputStreamAppender<>();
        buffer.setContext(context);
        buffer.setEncoder(console.getEncoder());
        buffer.setOutputStream(bytes);
        buffer.start();
        root.addAppender(buffer);
        LogContext.node("node-a");
        LogContext.info(context.getLogger("taraz.topup.TopupService"), "tp_1", "topup", "CREDITED", "top-up {} -> {}",
                "VERIFIED", "CREDITED");
        String written = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(1, written.lines().count(), written);
        return written;
    }
}
