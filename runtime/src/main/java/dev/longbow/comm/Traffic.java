package dev.longbow.comm;

/** Bytes one rank moved over the network (or its in-process stand-in), counted at the communicator. */
public record Traffic(long bytesSent, long bytesReceived) {
    /** No bytes either way. */
    public static final Traffic NONE = new Traffic(0, 0);

    /**
     * Both counts added.
     *
     * @param o the other counts
     * @return the sums
     */
    public Traffic plus(Traffic o) {
        return new Traffic(bytesSent + o.bytesSent, bytesReceived + o.bytesReceived);
    }

    /**
     * Both counts subtracted: the traffic between two readings.
     *
     * @param o the earlier reading
     * @return the differences
     */
    public Traffic minus(Traffic o) {
        return new Traffic(bytesSent - o.bytesSent, bytesReceived - o.bytesReceived);
    }
}
