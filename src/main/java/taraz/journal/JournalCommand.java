package taraz.journal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.function.ObjLongConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code taraz journal tail|incomplete|stats}: reads a journal, live or not, without disturbing its writer. */
@Command(name = "journal", mixinStandardHelpOptions = true,
        description = "Read the payment journal; safe while the gateway is writing it.",
        subcommands = {JournalCommand.Tail.class, JournalCommand.Incomplete.class, JournalCommand.StatsCmd.class})
public final class JournalCommand implements Callable<Integer> {
    static final int EXIT_OK = 0;
    static final int EXIT_ERROR = 2;
    static final long FOLLOW_POLL_MILLIS = 200;
    /** How long a SIGINT or SIGTERM waits for {@code tail --follow} to close its reader: a few polls. */
    static final long FOLLOW_STOP_WAIT_MILLIS = 5 * FOLLOW_POLL_MILLIS;
    static final String DEFAULT_DATA_DIR = "./data";
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    @Spec
    CommandSpec spec;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Data directory (default: $TARAZ_DATA_DIR, else ./data); the journal is DIR/journal.")
    Path dataDir;

    public JournalCommand() {
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: tail, incomplete or stats");
    }

    abstract static class Sub implements Callable<Integer> {
        @ParentCommand
        JournalCommand parent;

        @Spec
        CommandSpec spec;

        @Option(names = "--data-dir", paramLabel = "DIR",
                description = "Data directory (default: $TARAZ_DATA_DIR, else ./data); the journal is DIR/journal.")
        Path dataDir;

        @Option(names = "--json", description = "JSON: one object per record (tail), one array (incomplete), one object (stats).")
        boolean json;

        @Override
        public final Integer call() {
            try {
                return run(journalDir(), spec.commandLine().getOut());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return EXIT_OK;
            } catch (RuntimeException e) {
                spec.commandLine().getErr().println("journal " + spec.name() + ": " + e.getMessage());
                return EXIT_ERROR;
            }
        }

        abstract int run(Path journalDir, PrintWriter out) throws InterruptedException;

        private Path journalDir() {
            Path dir = dataDir != null ? dataDir : parent != null ? parent.dataDir : null;
            if (dir == null) {
                String env = System.getenv("TARAZ_DATA_DIR");
                dir = Path.of(env != null && !env.isBlank() ? env : DEFAULT_DATA_DIR);
            }
            return dir.resolve("journal");
        }
    }

    @Command(name = "tail", mixinStandardHelpOptions = true, description = "Print journal records, oldest first.")
    public static final class Tail extends Sub {
        @Option(names = "--follow", description = "Keep printing new records until interrupted.")
        boolean follow;

        @Option(names = "--txn", paramLabel = "ID", description = "Only records of this payment id.")
        String txn;

        // Ids are unique within a flow only (a trip's id is its caller's choice and may equal a
        // top-up's), so a payment is named by its flow and id together.
        @Option(names = "--flow", paramLabel = "F", description = "Only records of this flow (trip, topup, adjustment).")
        String flow;

        @Option(names = "--state", paramLabel = "S", description = "Only records with this state or status (any case).")
        String state;

        @Option(names = "--since", paramLabel = "T",
                description = "Only records at or after T: an ISO-8601 instant, or a duration back from now (30s, 10m, 2h, 1d).")
        String since;

        @Option(names = "-n", paramLabel = "N",
                description = "Only the last N matching records already written (then new ones, with --follow).")
        Integer last;

        @Override
        int run(Path journalDir, PrintWriter out) throws InterruptedException {
            if (last != null && last < 0) {
                throw new IllegalArgumentException("-n must be 0 or more, got " + last);
            }
            long sinceMillis = since == null ? Long.MIN_VALUE : parseSince(since, Instant.now()).toEpochMilli();
            Predicate<JournalRecord> wanted = r -> r.timeMillis() >= sinceMillis && (txn == null || txn.equals(r.paymentId()))
                    && (flow == null || flow.equals(r.flow()))
                    && (state == null || state.equalsIgnoreCase(r.state()) || state.equalsIgnoreCase(r.status().name()));
            ObjLongConsumer<JournalRecord> printing = (r, index) -> {
                if (wanted.test(r)) {
                    out.println(json ? toJson(r, index).encode() : human(r));
                }
            };
            try (JournalReader reader = new JournalReader(journalDir, 0)) {
                if (last == null) {
                    reader.poll(printing);
                } else {
                    printLast(reader, wanted, printing);
                }
                out.flush();
                if (follow) {
                    follow(reader, printing, out);
                }
            }
            return EXIT_OK;
        }

        /** The last {@code -n} wanted records of those written so far: only N are kept while reading, never the journal. */
        private void printLast(JournalReader reader, Predicate<JournalRecord> wanted, ObjLongConsumer<JournalRecord> printing) {
            ArrayDeque<Map.Entry<JournalRecord, Long>> kept = new ArrayDeque<>();
            reader.poll((r, index) -> {
                if (last > 0 && wanted.test(r)) {
                    if (kept.size() == last) {
                        kept.removeFirst();
                    }
                    kept.addLast(Map.entry(r, index));
                }
            });
            kept.forEach(e -> printing.accept(e.getKey(), e.getValue()));
        }

        /**
         * Prints new records until SIGINT or SIGTERM: the JVM's shutdown hook stops the loop and waits (bounded) for it
         * to close the reader and flush, so the last line printed is whole.
         */
        private void follow(JournalReader reader, ObjLongConsumer<JournalRecord> matching, PrintWriter out)
                throws InterruptedException {
            AtomicBoolean stopping = new AtomicBoolean();
            CountDownLatch stopped = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                stopping.set(true);
                try {
                    stopped.await(FOLLOW_STOP_WAIT_MILLIS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "journal-follow-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                while (!stopping.get()) {
                    Thread.sleep(FOLLOW_POLL_MILLIS);
                    if (reader.poll(matching) > 0) {
                        out.flush();
                    }
                }
            } finally {
                out.flush();
                stopped.countDown();
                if (!stopping.get()) {
                    Runtime.getRuntime().removeShutdownHook(hook);
                }
            }
        }
    }

    @Command(name = "incomplete", mixinStandardHelpOptions = true,
            description = {"Payments whose last record is PENDING, from the recovery checkpoint on: what recovery would replay.",
                    "Text: one line each, then \"N incomplete payments\"; --json: one JSON array ([] when none)."})
    public static final class Incomplete extends Sub {
        @Override
        int run(Path journalDir, PrintWriter out) {
            Map<String, JournalScans.IncompleteEntry> open = JournalScans.incomplete(journalDir, Checkpoint.read(journalDir));
            long nowMillis = System.currentTimeMillis();
            JsonArray list = new JsonArray();
            for (JournalScans.IncompleteEntry entry : open.values()) {
                JournalRecord r = entry.last();
                long ageMillis = nowMillis - r.timeMillis();
                if (json) {
                    list.add(toJson(r, entry.lastIndex()).put("ageMillis", ageMillis).put("firstIndex", entry.firstIndex())
                            .put("lastIndex", entry.lastIndex()));
                } else {
                    out.println(TIME.format(Instant.ofEpochMilli(r.timeMillis())) + "  " + r.flow() + "  " + r.paymentId()
                            + "  " + r.state() + "  age=" + Duration.ofMillis(ageMillis) + "  attempt=" + r.attempt()
                            + "  node=" + r.node());
                }
            }
            // An empty answer says so: a blank output reads like a tool that did nothing.
            out.println(json ? list.encode() : open.size() + " incomplete payment" + (open.size() == 1 ? "" : "s"));
            out.flush();
            return EXIT_OK;
        }
    }

    @Command(name = "stats", mixinStandardHelpOptions = true, description = "Counts, index range and size of the journal.")
    public static final class StatsCmd extends Sub {
        @Override
        int run(Path journalDir, PrintWriter out) {
            JournalScans.Stats stats = JournalScans.stats(journalDir);
            if (json) {
                out.println(stats.toJson().encode());
            } else {
                stats.toJson().forEach(e -> out.println(e.getKey() + ": " + e.getValue()));
            }
            out.flush();
            return EXIT_OK;
        }
    }

    /** A record as one JSON object, its {@code data} (the step's parameters, a JSON object when written) as an object. */
    static JsonObject toJson(JournalRecord r, long index) {
        JsonObject json = r.toJson().put("index", index);
        return r.data() == null ? json : json.put("data", new JsonObject(r.data()));
    }

    static String human(JournalRecord r) {
        return TIME.format(Instant.ofEpochMilli(r.timeMillis())) + "  " + r.key() + "  " + r.state() + "  " + r.status()
                + "  attempt=" + r.attempt() + "  amount=" + r.amountRials() + "  accounts=[" + String.join(",", r.accounts())
                + "]  node=" + r.node() + "  cause=" + (r.cause() == null ? "-" : r.cause());
    }

    static Instant parseSince(String text, Instant now) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException notAnInstant) {
            if (text.length() >= 2) {
                String unit = text.substring(text.length() - 1).toLowerCase(Locale.ROOT);
                try {
                    long amount = Long.parseLong(text.substring(0, text.length() - 1));
                    Duration back = switch (unit) {
                        case "s" -> Duration.ofSeconds(amount);
                        case "m" -> Duration.ofMinutes(amount);
                        case "h" -> Duration.ofHours(amount);
                        case "d" -> Duration.ofDays(amount);
                        default -> null;
                    };
                    if (back != null && amount >= 0) {
                        return now.minus(back);
                    }
                } catch (NumberFormatException ignored) {
                    // falls through to the one error message below
                }
            }
            throw new IllegalArgumentException("--since must be an ISO-8601 instant or a duration like 10m or 2h, got '" + text + "'");
        }
    }
}
