package taraz.ops;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.joran.spi.ConsoleTarget;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Locale;

/**
 * Logging, set up in code (logback finds it through META-INF/services): one line per event on standard output, our
 * own loggers at INFO and the chatty libraries at WARN. A line is a JSON object (logback's own {@link JsonEncoder}):
 * level, timestamp, thread, logger, the {@code mdc} object ({@link LogContext}: txn, flow, state, node, requestId) and
 * the formatted message; {@code TARAZ_LOG_FORMAT=text} gives a plain text line for a developer's terminal instead.
 * The format is an environment variable and not a setting because logging starts before the settings are read.
 * <p>
 * In code rather than a logback.xml because reading XML loads an XML parser and logback's configuration model first,
 * some 0.4 s of CPU at every start, all of it before main can do anything else. An operator's own file,
 * {@code -Dlogback.configurationFile=…}, still replaces all of this.
 */
public final class LogConfigurator extends ContextAwareBase implements Configurator {

    /** The text line: the payment's fields (when the line has them) before the message. */
    private static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSX,UTC} %-5level [%thread] %logger{0} %mdc %msg%n";
    /** Libraries that log every routine step at INFO (Chronicle's banner, each migration, each pg_ctl line). */
    private static final List<String> QUIET = List.of("net.openhft", "io.zonky", "org.flywaydb", "io.netty");
    private static final String CONFIGURATION_FILE_PROPERTY = "logback.configurationFile";
    static final String FORMAT_ENV = "TARAZ_LOG_FORMAT";
    private static final String APPENDER_NAME = "STDOUT";

    /** The line formats {@code TARAZ_LOG_FORMAT} names. */
    private enum Format { JSON, TEXT }

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty(CONFIGURATION_FILE_PROPERTY) != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        configure(context, System.getenv(FORMAT_ENV));
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** Standard output in the format {@code formatValue} names (the value of {@code TARAZ_LOG_FORMAT}). */
    void configure(LoggerContext context, String formatValue) {
        Encoder<ILoggingEvent> encoder = format(formatValue) == Format.TEXT ? text(context) : json(context);
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName(APPENDER_NAME);
        console.setEncoder(encoder);
        console.start();
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.INFO);
        root.addAppender(console);
        QUIET.forEach(name -> context.getLogger(name).setLevel(Level.WARN));
    }

    /**
     * For a command whose standard output is its answer (reconcile's summary): every line of ours to standard error
     * instead, in the same format. An operator's own logging configuration ({@code -Dlogback.configurationFile}) has
     * no appender of ours and is left as it is.
     */
    public static void toStandardError() {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        Appender<ILoggingEvent> appender = context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender(APPENDER_NAME);
        if (appender instanceof ConsoleAppender<ILoggingEvent> console) {
            console.stop();
            console.setTarget(ConsoleTarget.SystemErr.getName());
            console.start();
        }
    }

    /** The format {@code value} names; unset is JSON, and so is a value we do not know, with a warning at start. */
    private Format format(String value) {
        if (value == null || value.isBlank()) {
            return Format.JSON;
        }
        try {
            return Format.valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            addWarn(FORMAT_ENV + "=" + value + " is neither json nor text; writing JSON lines");
            return Format.JSON;
        }
    }

    /**
     * One JSON object per line, without what a reader never needs on every line: logback's sequence number, the
     * nanoseconds, the logger context, the unformatted message and its arguments (the formatted message has them).
     */
    private static Encoder<ILoggingEvent> json(LoggerContext context) {
        JsonEncoder encoder = new JsonEncoder();
        encoder.setContext(context);
        encoder.setWithSequenceNumber(false);
        encoder.setWithNanoseconds(false);
        encoder.setWithContext(false);
        encoder.setWithMessage(false);
        encoder.setWithArguments(false);
        encoder.setWithFormattedMessage(true);
        encoder.start();
        return encoder;
    }

    private static Encoder<ILoggingEvent> text(LoggerContext context) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        return encoder;
    }
}
