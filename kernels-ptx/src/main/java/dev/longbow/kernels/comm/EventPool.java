package dev.longbow.kernels.comm;

import dev.longbow.cuda.Event;
import dev.longbow.cuda.Stream;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One rank's ordering events: it owns them all and records them on its own streams, from its own
 * thread; waiters on any rank's thread give them back when their waits are issued. The pool
 * grows to the events in flight at once (a few per call) and stays there: no event is made or
 * destroyed in a training step after the first.
 */
final class EventPool implements AutoCloseable {
    private final Queue<Event> free = new ConcurrentLinkedQueue<>();
    private final List<Event> all = new ArrayList<>();
    private boolean closed;

    /** An event recorded after the work issued so far on {@code stream}, for {@code waits} waiters. The owner's thread. */
    SharedEvent record(Stream stream, int waits) {
        if (closed) {
            throw new IllegalStateException("the event pool of " + stream + " is closed");
        }
        Event event = free.poll();
        if (event == null) {
            event = Event.createForOrdering();
            all.add(event);
        }
        SharedEvent shared = new SharedEvent(event, this, waits);
        event.record(stream);
        return shared;
    }

    void giveBack(Event event) {
        free.add(event);
    }

    /** Events recorded whose waiters have not all issued their waits: a count that grows call after call is a leak. */
    int outstanding() {
        return all.size() - free.size();
    }

    /** Destroys every event; the owner's context must be current and every waiter's wait issued. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException first = null;
        for (Event e : all) {
            try {
                e.close();
            } catch (RuntimeException failure) {
                if (first == null) {
                    first = failure;
                } else {
                    first.addSuppressed(failure);
                }
            }
        }
        all.clear();
        free.clear();
        if (first != null) {
            throw first;
        }
    }
}
