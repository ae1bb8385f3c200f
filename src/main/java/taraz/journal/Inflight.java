package taraz.journal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The business steps running on this node (a trip settle, a top-up being driven on), each with
 * the journal record that says the node let go of it: at the drain deadline the stop sequence
 * journals those for the steps still running, so that boot recovery (or another node) takes
 * them up from there.
 */
public final class Inflight {

    /** The cause journaled for a step let go of at the drain deadline. */
    public static final String INTERRUPTED = "interrupted: node stopped before the step ended";

    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, JournalRecord> steps = new ConcurrentHashMap<>();

    /** Registers a running step; {@code interrupted} is what to journal if it is cut off. */
    public long begin(JournalRecord interrupted) {
        long id = ids.incrementAndGet();
        steps.put(id, interrupted);
        return id;
    }

    public void end(long id) {
        steps.remove(id);
    }

    public int count() {
        return steps.size();
    }

    public List<JournalRecord> open() {
        return List.copyOf(steps.values());
    }
}
