package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.Traffic;
import dev.longbow.tensor.Slab;
import java.util.List;

/**
 * Measures one scheme call on one rank: the bytes its communicators moved and the buffer memory
 * it allocated. A call declares its buffers as slabs through the meter, so the sum of what is
 * live is the call's peak.
 */
final class CallMeter {
    private final List<Communicator> comms;
    private final Traffic[] start;
    private Traffic inner = Traffic.NONE;
    private long deviceBytes;
    private long hostBytes;

    CallMeter(List<Communicator> comms) {
        this.comms = comms;
        this.start = comms.stream().map(Communicator::traffic).toArray(Traffic[]::new);
    }

    /** One slab in the backend's memory, counted toward this call's peak. */
    Slab device(Backend backend, Slab.Builder declared) {
        deviceBytes += declared.byteSize();
        return declared.allocate(backend::allocate);
    }

    /** One slab in the backend's host memory (the offload target), counted as host buffer memory. */
    Slab host(Backend backend, Slab.Builder declared) {
        hostBytes += declared.byteSize();
        return declared.allocate(backend::allocateHost);
    }

    /** Memory that stays alive into this call from an earlier one (what forward saved for backward). */
    void alreadyHeld(long device, long host) {
        deviceBytes += device;
        hostBytes += host;
    }

    /** A nested scheme call (Hybrid's ring) whose buffers were alive together with this call's. */
    void nested(CallStats stats) {
        inner = inner.plus(stats.traffic());
        deviceBytes += stats.peakBufferBytes() - stats.hostBufferBytes();
        hostBytes += stats.hostBufferBytes();
    }

    CallStats finish() {
        Traffic moved = inner;
        for (int i = 0; i < comms.size(); i++) {
            moved = moved.plus(comms.get(i).traffic().minus(start[i]));
        }
        return new CallStats(moved, deviceBytes + hostBytes, hostBytes);
    }
}
