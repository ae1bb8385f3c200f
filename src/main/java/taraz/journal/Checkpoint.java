package taraz.journal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The recovery checkpoint: the journal index recovery starts from, a small file inside the journal directory
 * (Chronicle only lists {@code *.cq4} there). Retention keeps every cycle file from it on.
 */
public final class Checkpoint {
    static final String FILE = "recovery.checkpoint";

    private Checkpoint() {
    }

    /** The index recovery starts from; 0 (the start) when none was written. */
    public static long read(Path dir) {
        Path file = dir.resolve(FILE);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII).trim();
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        try {
            long index = Long.parseLong(text);
            if (index < 0) {
                throw new NumberFormatException("negative");
            }
            return index;
        } catch (NumberFormatException e) {
            throw new IllegalStateException("corrupt journal checkpoint " + file + ": '" + text + "'", e);
        }
    }

    /** Atomic: a crash leaves either the old or the new checkpoint, never a torn one. */
    public static void write(Path dir, long index) {
        if (index < 0) {
            throw new IllegalArgumentException("checkpoint index must be >= 0, got " + index);
        }
        Path temp = dir.resolve(FILE + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer bytes = ByteBuffer.wrap((index + "\n").getBytes(StandardCharsets.US_ASCII));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            Files.move(temp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            JournalFiles.forceDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write journal checkpoint in " + dir, e);
        }
    }
}
