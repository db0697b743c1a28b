package dev.longbow.launch;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * The master's side: accepts joiners until every rank 1..n-1 has authenticated, then sends each
 * the id. Rejected joiners (bad token, rank out of range or already taken, another world size)
 * are told why at once and the wait goes on; at the deadline everyone still waiting is told which
 * ranks never came, and so is the master's caller.
 */
final class RendezvousServer implements AutoCloseable {
    /** How long one joiner may take over its handshake before it is dropped and the next is served. */
    private static final long HANDSHAKE_MILLIS = 5_000;

    private final ServerSocket listener;
    private String address;
    private final int processCount;
    private final RendezvousAuth auth;
    private final Map<Integer, Joiner> joined = new TreeMap<>();
    private final List<String> rejected = new ArrayList<>();

    private record Joiner(Socket socket, DataOutputStream out, byte[] serverNonce, byte[] clientNonce, String peer) {
    }

    RendezvousServer(InetSocketAddress bind, int processCount, RendezvousAuth auth) {
        this.processCount = processCount;
        this.auth = auth;
        this.address = bind.getHostString() + ":" + bind.getPort();
        try {
            listener = new ServerSocket();
            listener.setReuseAddress(true);
            listener.bind(bind, processCount);
            address = bind.getHostString() + ":" + listener.getLocalPort();
        } catch (IOException e) {
            throw new RendezvousException("the master cannot listen on " + address + ": " + e.getMessage()
                    + " (is MASTER_PORT taken by another job?)", e);
        }
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Waits for every other process, then hands each {@code id}; throws if some never came in time. */
    void distribute(byte[] id, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (joined.size() < processCount - 1) {
            long left = Duration.ofNanos(deadline - System.nanoTime()).toMillis();
            if (left <= 0) {
                String message = timeoutMessage(timeout);
                joined.values().forEach(j -> tell(j, message));
                throw new RendezvousException(message);
            }
            try {
                listener.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
                admit(listener.accept(), Math.min(left, HANDSHAKE_MILLIS));
            } catch (SocketTimeoutException e) {
                // the deadline check above reports it
            } catch (IOException e) {
                throw new RendezvousException("the master's listener on " + address + " failed: " + e.getMessage(), e);
            }
        }
        List<String> unreachable = new ArrayList<>();
        joined.forEach((rank, j) -> {
            try {
                RendezvousWire.writeOk(j.out(), id, auth.idProof(j.serverNonce(), j.clientNonce(), id));
            } catch (IOException e) {
                unreachable.add("rank " + rank + " at " + j.peer() + " (" + e.getMessage() + ")");
            }
        });
        if (!unreachable.isEmpty()) {
            throw new RendezvousException("every rank joined, but the id could not be sent to " + unreachable);
        }
    }

    private void admit(Socket socket, long handshakeMillis) throws IOException {
        String peer = String.valueOf(socket.getRemoteSocketAddress());
        try {
            socket.setSoTimeout((int) handshakeMillis);
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            byte[] serverNonce = RendezvousAuth.nonce();
            RendezvousWire.writeHello(out, serverNonce);
            RendezvousWire.Join join = RendezvousWire.readJoin(in, peer);
            String refusal = refusal(join, serverNonce, peer);
            if (refusal != null) {
                rejected.add(refusal);
                RendezvousWire.writeError(out, refusal);
                socket.close();
                return;
            }
            joined.put(join.rank(), new Joiner(socket, out, serverNonce, join.clientNonce(), peer));
        } catch (IOException | RendezvousException e) {
            rejected.add("a broken handshake from " + peer + " (" + e.getMessage() + ")");
            socket.close();
        }
    }

    /** Why this join is refused, or null. The token is checked first: strangers learn nothing about the job. */
    private String refusal(RendezvousWire.Join join, byte[] serverNonce, String peer) {
        byte[] expected = auth.joinProof(serverNonce, join.clientNonce(), join.rank(), join.processCount());
        if (!RendezvousAuth.matches(expected, join.proof())) {
            return "authentication failed for the join from " + peer + ": its " + RendezvousAuth.TOKEN_VARIABLE
                    + " differs from the master's";
        }
        if (join.processCount() != processCount) {
            return "rank " + join.rank() + " from " + peer + " believes the job has " + join.processCount()
                    + " processes, the master has " + processCount + " (check WORLD_SIZE/SLURM_NTASKS)";
        }
        if (join.rank() < 1 || join.rank() >= processCount) {
            return "rank " + join.rank() + " from " + peer + " is out of range: joiners are ranks [1, " + processCount
                    + ") and rank 0 is the master (check RANK/SLURM_PROCID)";
        }
        Joiner first = joined.get(join.rank());
        if (first != null) {
            return "duplicate rank " + join.rank() + ": it already joined from " + first.peer() + ", and again from " + peer
                    + " (check RANK/SLURM_PROCID)";
        }
        return null;
    }

    private String timeoutMessage(Duration timeout) {
        List<Integer> missing = IntStream.range(1, processCount).filter(r -> !joined.containsKey(r)).boxed().toList();
        return "rendezvous on " + address + " timed out after " + timeout.toSeconds() + " s: missing ranks " + missing
                + " of " + processCount + " processes" + (rejected.isEmpty() ? "" : "; refused meanwhile: " + rejected);
    }

    private static void tell(Joiner j, String message) {
        try {
            RendezvousWire.writeError(j.out(), message);
        } catch (IOException e) {
            // that joiner is gone; its own deadline reports it
        }
    }

    @Override
    public void close() {
        joined.values().forEach(j -> {
            try {
                j.socket().close();
            } catch (IOException e) {
                // closing: nothing left to tell
            }
        });
        try {
            listener.close();
        } catch (IOException e) {
            // closing: nothing left to tell
        }
    }
}
