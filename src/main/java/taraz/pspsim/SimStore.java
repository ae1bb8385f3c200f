package taraz.pspsim;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The simulator's durable state: one JSON object per line in {@code psp-sim.jsonl}, each a whole payment or the whole
 * fault settings, plus the global counters at that moment. Replay keeps the last line per key.
 */
final class SimStore implements AutoCloseable {
    static final String FILE_NAME = "psp-sim.jsonl";
    /** Writes waiting for the disk; beyond this the simulator answers 500 rather than queue without limit. */
    static final int WRITE_QUEUE_MAX = 10_000;
    static final long CLOSE_TIMEOUT_SECONDS = 10;

    /**
     * The longest line replay accepts. A line is one payment or the fault settings, under 2 KiB; the bound keeps a
     * damaged file (no line ends) from taking the simulator's memory at start.
     */
    static final int LINE_CHARS_MAX = 64 * 1024;

    private final Path file;
    private final FileChannel channel;
    // One writer thread keeps the lines in the order the event loop produced them.
    private final ThreadPoolExecutor writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(WRITE_QUEUE_MAX), r -> new Thread(r, "psp-sim-store"));

    private SimStore(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** Blocking: call it from a worker. Opens (or creates) the file to append to; {@link #replay} reads it back. */
    static SimStore open(Path dataDir) throws IOException {
        Files.createDirectories(dataDir);
        Path file = dataDir.resolve(FILE_NAME);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        return new SimStore(file, channel);
    }

    /**
     * Blocking: hands every intact line to {@code sink}, oldest first. The file is streamed a line at a time, so
     * memory holds one line (at most {@link #LINE_CHARS_MAX}), never the whole history.
     */
    void replay(Consumer<JsonObject> sink) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            StringBuilder text = new StringBuilder();
            int lineNumber = 0;
            int tornLine = 0;
            while (readLine(in, text, lineNumber + 1)) {
                lineNumber++;
                if (text.toString().isBlank()) {
                    continue;
                }
                // A crash mid-write can tear only the last line; a bad line anywhere else is corruption.
                if (tornLine != 0) {
                    throw new IOException(file + ": line " + tornLine + " is not JSON");
                }
                JsonObject line;
                try {
                    line = new JsonObject(text.toString());
                } catch (DecodeException e) {
                    tornLine = lineNumber;
                    continue;
                }
                sink.accept(line);
            }
        }
    }

    /** Reads one line (without its end) into {@code text}; false at the end of the file. */
    private boolean readLine(BufferedReader in, StringBuilder text, int lineNumber) throws IOException {
        text.setLength(0);
        int c = in.read();
        if (c < 0) {
            return false;
        }
        while (c >= 0 && c != '\n') {
            if (text.length() == LINE_CHARS_MAX) {
                throw new IOException(file + ": line " + lineNumber + " is longer than " + LINE_CHARS_MAX
                        + " characters: not a line this simulator writes");
            }
            text.append((char) c);
            c = in.read();
        }
        return true;
    }

    /** Appends and forces one line off the event loop; the future completes on the caller's context. */
    Future<Void> append(Context context, JsonObject line) {
        // A newline is started first so that a torn last line from a crash never swallows the next one.
        byte[] bytes = ("\n" + line.encode()).getBytes(StandardCharsets.UTF_8);
        Promise<Void> promise = Promise.promise();
        try {
            writer.execute(() -> {
                try {
                    ByteBuffer buffer = ByteBuffer.wrap(bytes);
                    while (buffer.hasRemaining()) {
                        channel.write(buffer);
                    }
                    channel.force(false);
                    context.runOnContext(v -> promise.complete());
                } catch (IOException | RuntimeException e) {
                    context.runOnContext(v -> promise.fail(e));
                }
            });
        } catch (RejectedExecutionException e) {
            promise.fail(new IOException("psp-sim store queue is full or closed", e));
        }
        return promise.future();
    }

    @Override
    public void close() throws IOException {
        writer.shutdown();
        try {
            if (!writer.awaitTermination(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new IOException("psp-sim store did not drain within " + CLOSE_TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            channel.close();
        }
    }
}
