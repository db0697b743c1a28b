package dev.longbow.kernels.comm;

import dev.longbow.comm.CollectiveMismatchException;
import dev.longbow.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code sendRecv} channels of a device group: one per ordered pair of ranks, matching sends
 * with receives first in, first out, as NCCL does. Whichever side posts second gets the other
 * half back and issues the copy on its own communication stream; both halves then complete
 * with the copy's end event.
 */
final class PointToPoint {
    private final DeviceGroup group;
    private final Map<Long, Channel> channels = new ConcurrentHashMap<>();
    private final Set<Integer> left = ConcurrentHashMap.newKeySet();

    /**
     * One side of a transfer, posted by {@code rank}: the tensor, the event after the poster's
     * compute so far (before it the tensor is still the poster's), and, once matched and issued,
     * the event after the copy.
     */
    record Half(int rank, Tensor tensor, SharedEvent ready, String what, CompletableFuture<SharedEvent> done) {
        Half(int rank, Tensor tensor, SharedEvent ready, String what) {
            this(rank, tensor, ready, what, new CompletableFuture<>());
        }
    }

    PointToPoint(DeviceGroup group) {
        this.group = group;
    }

    /** Posts {@code send} on the channel from its rank to {@code to}; returns the receive it matches, or {@code null} to wait for one. */
    Half postSend(Half send, int to) {
        return post(send.rank(), to, send, true);
    }

    /** Posts {@code recv} on the channel from {@code from} to its rank; returns the send it matches, or {@code null} to wait for one. */
    Half postRecv(Half recv, int from) {
        return post(from, recv.rank(), recv, false);
    }

    private Half post(int from, int to, Half half, boolean isSend) {
        group.failIfAborted();
        int peer = isSend ? to : from;
        if (left.contains(peer) && peer != half.rank()) {
            throw new CollectiveMismatchException(half.what() + ": rank " + peer + " has closed its communicator; nothing will "
                    + (isSend ? "receive this send" : "be sent to this receive"));
        }
        return channels.computeIfAbsent((long) from * group.size + to, k -> new Channel()).post(half, isSend);
    }

    /** Fails every half still waiting for its match. */
    void fail(RuntimeException cause) {
        channels.values().forEach(c -> c.failAll(cause));
    }

    /** Rank {@code gone} closed its endpoint: the halves only it could have matched fail. */
    void peerLeft(int gone) {
        left.add(gone);
        channels.forEach((key, channel) -> {
            int from = (int) (key / group.size);
            int to = (int) (key % group.size);
            if (from == gone && to != gone) {
                channel.failReceives("rank " + to + " posted a receive from rank " + gone + ", which closed its communicator without sending");
            }
            if (to == gone && from != gone) {
                channel.failSends("rank " + from + " posted a send to rank " + gone + ", which closed its communicator without receiving");
            }
        });
    }

    /** The transfers from one rank to another, in posting order. */
    private static final class Channel {
        private final ArrayDeque<Half> sends = new ArrayDeque<>();
        private final ArrayDeque<Half> receives = new ArrayDeque<>();

        synchronized Half post(Half half, boolean isSend) {
            Half match = (isSend ? receives : sends).poll();
            if (match == null) {
                (isSend ? sends : receives).add(half);
            }
            return match;
        }

        synchronized void failAll(RuntimeException cause) {
            sends.forEach(h -> h.done().completeExceptionally(cause));
            receives.forEach(h -> h.done().completeExceptionally(cause));
            sends.clear();
            receives.clear();
        }

        synchronized void failSends(String why) {
            sends.forEach(h -> h.done().completeExceptionally(new CollectiveMismatchException(h.what() + ": " + why)));
            sends.clear();
        }

        synchronized void failReceives(String why) {
            receives.forEach(h -> h.done().completeExceptionally(new CollectiveMismatchException(h.what() + ": " + why)));
            receives.clear();
        }
    }
}
