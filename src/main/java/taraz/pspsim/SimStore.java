package taraz.pspsim;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The simulator's durable state: one JSON object per line in {@code psp-sim.jsonl}, each a whole payment or the whole
 * fault settings, plus the global counters at that moment. Replay keeps the last line per key.
 */
final class SimStore implements AutoCloseable {
    static final String FILE_NAME = "psp-sim.jsonl";
    /** Writes waiting for the disk; beyond this the simulator answers 500 rather than queue without limit. */
    static final int WRITE_QUEUE_MAX = 10_000;
    static final long CLOSE_TIMEOUT_SECONDS = 10;

    private final FileChannel channel;
    // One writer thread keeps the lines in the order the event loop produced them.
    private final ThreadPoolExecutor writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(WRITE_QUEUE_MAX), r -> new Thread(r, "psp-sim-store"));

    private SimStore(FileChannel channel) {
        this.channel = channel;
    }

    /** Every intact line, oldest first, and the store to append to. */
    record Replayed(List<JsonObject> lines, SimStore store) {
    }

    /** Blocking: call it from a worker. */
    static Replayed open(Path dataDir) throws IOException {
        Files.createDirectories(dataDir);
        Path file = dataDir.resolve(FILE_NAME);
        List<JsonObject> lines = new ArrayList<>();
        if (Files.exists(file)) {
            List<String> texts = Files.readAllLines(file, StandardCharsets.UTF_8);
            for (int i = 0; i < texts.size(); i++) {
                if (texts.get(i).isBlank()) {
                    continue;
                }
                try {
                    lines.add(new JsonObject(texts.get(i)));
                } catch (DecodeException e) {
                    // A crash mid-write can tear only the last line; a bad line anywhere else is corruption.
                    if (i != texts.size() - 1) {
                        throw new IOException(file + ": line " + (i + 1) + " is not JSON", e);
                    }
                }
            }
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        return new Replayed(lines, new SimStore(channel));
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
