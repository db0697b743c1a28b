package dev.longbow.kernels.comm;

import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.Meetings;
import dev.longbow.comm.Meetings.Meeting;
import dev.longbow.comm.GroupAbortedException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What the ranks of one device group share on the host: the {@link Meetings} where every rank
 * brings its call and what it publishes (buffer addresses, events) and gets everyone's back
 * (calls compared, a deadline, ranks that left), and the point-to-point channels of
 * {@code sendRecv}. Only host state lives here; GPU work is ordered by the events the ranks
 * exchange. A failure anywhere aborts the group: ranks blocked here wake with a
 * {@link GroupAbortedException}, later calls fail at once, and sub-groups made by {@code split}
 * are aborted with it.
 */
final class DeviceGroup {
    final int size;
    final Duration timeout;
    final PointToPoint transfers;
    private final List<DeviceGroup> children = new CopyOnWriteArrayList<>();
    private final Meetings<DeviceCall> meetings;

    DeviceGroup(int size, Duration timeout) {
        if (size < 1) {
            throw new IllegalArgumentException("group size " + size + " must be at least 1");
        }
        this.size = size;
        this.timeout = CollectiveTimeout.require(timeout, "device group of " + size + " ranks");
        this.transfers = new PointToPoint(this);
        this.meetings = new Meetings<>("a device group of " + size + " ranks", size, timeout, this::abort);
    }

    /**
     * Publishes rank {@code rank}'s {@code call} and {@code payload}; returns every rank's once all
     * have come with the same call.
     */
    Meeting<DeviceCall> meet(int rank, DeviceCall call, Object payload) {
        return meetings.meet(rank, call, payload);
    }

    /** The last collective rank {@code rank} came to, for messages. */
    String lastCallOf(int rank) {
        return meetings.lastCallOf(rank);
    }

    /** Wakes every blocked rank with {@code cause}; later calls fail at once. The first cause wins. */
    void abort(RuntimeException cause) {
        if (meetings.abort(cause)) {
            transfers.fail(cause);
            children.forEach(child -> child.abort(cause));
        }
    }

    boolean aborted() {
        return meetings.aborted();
    }

    void failIfAborted() {
        meetings.failIfAborted();
    }

    /** A sub-group made by a split: aborted when this group is. */
    DeviceGroup split(int childSize) {
        DeviceGroup child = new DeviceGroup(childSize, timeout);
        children.add(child);
        if (meetings.aborted()) {
            child.abort(meetings.failure());
        }
        return child;
    }

    /** Rank {@code rank} closed its endpoint: ranks waiting for it fail instead of waiting. */
    void release(int rank) {
        meetings.left(rank);
        transfers.peerLeft(rank);
    }
}
