package dev.longbow.kernels.comm;

import dev.longbow.cuda.Event;
import dev.longbow.cuda.Stream;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One record of a rank's event that a known number of waiters (streams of this rank or of its
 * peers) will wait for. A wait takes the record current when it is issued, so the event may be
 * recorded again once every waiter has issued its wait, and not before: the last waiter gives the
 * event back to its owner's pool.
 */
final class SharedEvent {
    private final Event event;
    private final EventPool owner;
    private final AtomicInteger waitsLeft;

    SharedEvent(Event event, EventPool owner, int waits) {
        if (waits < 1) {
            throw new IllegalArgumentException("an event shared with " + waits + " waiters; at least 1");
        }
        this.event = event;
        this.owner = owner;
        this.waitsLeft = new AtomicInteger(waits);
    }

    /** Makes {@code stream}'s later work wait for this record (the host does not wait): one of the waits it was shared for. */
    void makeWait(Stream stream) {
        stream.waitFor(event);
        done();
    }

    /** Whether the recorded work has finished; never blocks. The owner's thread only (its context is current there). */
    boolean isDone() {
        return event.isDone();
    }

    /** One waiter is done with this record (it issued its wait, or polled the event to its end). */
    void done() {
        int left = waitsLeft.decrementAndGet();
        if (left == 0) {
            owner.giveBack(event);
        } else if (left < 0) {
            throw new IllegalStateException("an event was waited for more often than it was shared");
        }
    }
}
