package dev.longbow.parallel;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.backend.ModelOps;
import dev.longbow.backend.Pending;
import dev.longbow.backend.TensorOps;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.Traffic;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What one rank issued, in order, while {@link #on}: transfers and copies posted (with the tensor
 * they write), their first awaits, attention calls and collectives. {@link #backend} and
 * {@link #communicator} wrap a rank's real ones and write the log.
 */
final class IssueLog {
    enum Kind { POST, AWAIT, COMPUTE, COLLECTIVE }

    record Event(Kind kind, int id, Tensor written) {
    }

    /** A posted transfer or copy: where it and its first await sit in the log ({@code awaited} -1 if never). */
    record Window(int posted, int awaited) {
    }

    private final List<Event> events = new ArrayList<>();
    private final Set<Integer> awaited = new HashSet<>();
    boolean on;

    private void add(Kind kind, int id, Tensor written) {
        if (on) {
            events.add(new Event(kind, id, written));
        }
    }

    private Pending posted(Tensor written, Pending pending) {
        if (!on) {
            return pending;
        }
        int id = events.size();
        add(Kind.POST, id, written);
        return () -> {
            pending.await();
            if (awaited.add(id)) {
                add(Kind.AWAIT, id, null);
            }
        };
    }

    /** The posts whose written tensor matches, in order, with their first awaits. */
    List<Window> windows(Predicate<Tensor> written) {
        List<Window> found = new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
            Event e = events.get(i);
            if (e.kind() == Kind.POST && written.test(e.written())) {
                int at = -1;
                for (int j = i + 1; j < events.size() && at < 0; j++) {
                    if (events.get(j).kind() == Kind.AWAIT && events.get(j).id() == e.id()) {
                        at = j;
                    }
                }
                found.add(new Window(i, at));
            }
        }
        return found;
    }

    /** How many events of {@code kind} lie strictly inside the window. */
    long between(Window w, Kind kind) {
        return events.subList(w.posted() + 1, w.awaited()).stream().filter(e -> e.kind() == kind).count();
    }

    Backend backend(Backend real) {
        AttentionOps attention = new AttentionOps() {
            @Override
            public void forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, AttentionParams params) {
                add(Kind.COMPUTE, -1, out);
                real.attention().forward(q, k, v, out, lse, params);
            }

            @Override
            public void backward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dout,
                                 Tensor dq, Tensor dk, Tensor dv, AttentionParams params) {
                add(Kind.COMPUTE, -1, dq);
                real.attention().backward(q, k, v, out, lse, dout, dq, dk, dv, params);
            }

            @Override
            public void merge(Tensor out, Tensor lse, Tensor partOut, Tensor partLse) {
                real.attention().merge(out, lse, partOut, partLse);
            }
        };
        return new Backend() {
            @Override
            public String name() {
                return real.name();
            }

            @Override
            public Placement placement() {
                return real.placement();
            }

            @Override
            public Allocation allocate(long bytes) {
                return real.allocate(bytes);
            }

            @Override
            public Allocation allocateHost(long bytes) {
                return real.allocateHost(bytes);
            }

            @Override
            public TensorOps tensors() {
                return real.tensors();
            }

            @Override
            public AttentionOps attention() {
                return attention;
            }

            @Override
            public ModelOps model() {
                return real.model();
            }

            @Override
            public Pending copyAsync(Tensor src, Tensor dst) {
                return posted(dst, real.copyAsync(src, dst));
            }

            @Override
            public void synchronize() {
                real.synchronize();
            }

            @Override
            public void close() {
                real.close();
            }
        };
    }

    /** Logs this endpoint's calls; groups split from it are not logged. */
    Communicator communicator(Communicator real) {
        return new Communicator() {
            @Override
            public int rank() {
                return real.rank();
            }

            @Override
            public int size() {
                return real.size();
            }

            @Override
            public Pending sendRecv(Tensor send, int to, Tensor recv, int from) {
                return posted(recv, real.sendRecv(send, to, recv, from));
            }

            @Override
            public void allToAll(Tensor send, Tensor recv) {
                add(Kind.COLLECTIVE, -1, recv);
                real.allToAll(send, recv);
            }

            @Override
            public void allGather(Tensor send, Tensor recv) {
                add(Kind.COLLECTIVE, -1, recv);
                real.allGather(send, recv);
            }

            @Override
            public void reduceScatter(Tensor send, Tensor recv) {
                add(Kind.COLLECTIVE, -1, recv);
                real.reduceScatter(send, recv);
            }

            @Override
            public void allReduce(Tensor inout) {
                add(Kind.COLLECTIVE, -1, inout);
                real.allReduce(inout);
            }

            @Override
            public void barrier() {
                real.barrier();
            }

            @Override
            public Communicator split(int color, int key) {
                return real.split(color, key);
            }

            @Override
            public Traffic traffic() {
                return real.traffic();
            }

            @Override
            public void close() {
                real.close();
            }
        };
    }
}
