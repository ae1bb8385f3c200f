package taraz.ops;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The node's phase, which readiness reports and the API gates on: payments are served only
 * when READY. It moves one way: STARTING, RECOVERING, READY, DRAINING.
 */
public final class Readiness {

    public enum Phase { STARTING, RECOVERING, READY, DRAINING }

    private final AtomicReference<Phase> phase = new AtomicReference<>(Phase.STARTING);

    public Phase phase() {
        return phase.get();
    }

    public boolean serving() {
        return phase.get() == Phase.READY;
    }

    /** Moves forward only; a late "ready" can never undo a "draining". */
    public void advance(Phase next) {
        phase.updateAndGet(current -> next.ordinal() > current.ordinal() ? next : current);
    }
}
