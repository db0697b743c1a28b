package dev.longbow.comm;

/** Bytes one rank moved over the network (or its in-process stand-in), counted at the communicator. */
public record Traffic(long bytesSent, long bytesReceived) {
    public static final Traffic NONE = new Traffic(0, 0);

    public Traffic plus(Traffic o) {
        return new Traffic(bytesSent + o.bytesSent, bytesReceived + o.bytesReceived);
    }

    public Traffic minus(Traffic o) {
        return new Traffic(bytesSent - o.bytesSent, bytesReceived - o.bytesReceived);
    }
}
