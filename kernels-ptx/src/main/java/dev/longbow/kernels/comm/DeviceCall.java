package dev.longbow.kernels.comm;

import dev.longbow.comm.Meetings;

/**
 * One rank's collective call on a device group, as the ranks compare it when they meet: the
 * how-many-th collective of this rank on the group, its kind, what must agree across ranks
 * (dtype and element counts), and which of the call's meetings this is.
 */
record DeviceCall(long ordinal, String kind, String signature, String stage) implements Meetings.Call<DeviceCall> {
    /** The meeting every call starts with: ranks bring their buffers and ready events. */
    static final String START = "";

    /** This call's later meeting {@code stage}. */
    DeviceCall at(String laterStage) {
        return new DeviceCall(ordinal, kind, signature, laterStage);
    }

    /** Whether two ranks are at the same meeting of the same call. */
    @Override
    public boolean sameAs(DeviceCall other) {
        return ordinal == other.ordinal && kind.equals(other.kind) && signature.equals(other.signature) && stage.equals(other.stage);
    }

    @Override
    public String toString() {
        return kind + " #" + ordinal + (signature.isEmpty() ? "" : " (" + signature + ")") + (stage.isEmpty() ? "" : ", " + stage);
    }
}
