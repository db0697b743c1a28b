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
 * The master's side: accepts joiners until every rank 1..n-1 has authenticated, then hands each
 * the id. Handshakes run concurrently, each on a thread of its own with its own deadline, so an
 * idle or slow connection delays nobody. Rejected joiners (bad token, rank out of range or held
 * by a live process, another world size) are told why at once and the wait goes on.
 *
 * <p>A joiner that dies after joining leaves no dead slot: when its rank joins again, or before
 * the id goes out, the master finds the old connection closed and frees the slot, so a restarted
 * process rejoins the same round. The id goes out in two phases (every joiner confirms it before
 * any may use it), so the job starts on every process or on none: at the deadline, or when a
 * joiner fails to confirm, everyone still waiting is told why, and so is the master's caller.
 */
final class RendezvousServer implements AutoCloseable {
    /** How long one joiner may take over its handshake before it is dropped. */
    private static final long HANDSHAKE_MILLIS = 5_000;
    /** How often the accepting thread looks whether everyone has joined. */
    private static final int ACCEPT_POLL_MILLIS = 100;

    private final ServerSocket listener;
    private String address;
    private final int processCount;
    private final RendezvousAuth auth;
    /** Guarded by this. */
    private final Map<Integer, Joiner> joined = new TreeMap<>();
    /** Guarded by this. */
    private final List<String> rejected = new ArrayList<>();

    private record Joiner(Socket socket, DataInputStream in, DataOutputStream out, byte[] serverNonce, byte[] clientNonce,
                          String peer) {
    }

    RendezvousServer(InetSocketAddress bind, int processCount, RendezvousAuth auth) {
        this.processCount = processCount;
        this.auth = auth;
        this.address = bind.getHostString() + ":" + bind.getPort();
        try {
            listener = new ServerSocket();
            listener.setReuseAddress(true);
            listener.bind(bind, Math.max(50, processCount));
            address = bind.getHostString() + ":" + listener.getLocalPort();
        } catch (IOException e) {
            throw new RendezvousException("the master cannot listen on " + address + ": " + e.getMessage()
                    + " (is MASTER_PORT taken by another job?)", e);
        }
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Waits for every other process, then hands each {@code id}; throws, telling every joiner, if the job cannot start. */
    void distribute(byte[] id, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!everyoneAlive()) {
            long left = Duration.ofNanos(deadline - System.nanoTime()).toMillis();
            if (left <= 0) {
                throw failEveryone(timeoutMessage(timeout));
            }
            try {
                listener.setSoTimeout((int) Math.min(left, ACCEPT_POLL_MILLIS));
                Socket socket = listener.accept();
                long handshake = Math.min(left, HANDSHAKE_MILLIS);
                Thread.ofVirtual().name("rendezvous-handshake").start(() -> admit(socket, handshake));
            } catch (SocketTimeoutException e) {
                // look again whether everyone has joined, and at the deadline
            } catch (IOException e) {
                throw failEveryone("the master's listener on " + address + " failed: " + e.getMessage());
            }
        }
        handOut(id, deadline);
    }

    /** Whether every rank has joined on a connection that is still open; frees the slots of closed ones. */
    private synchronized boolean everyoneAlive() {
        if (joined.size() < processCount - 1) {
            return false;
        }
        joined.entrySet().removeIf(e -> {
            if (alive(e.getValue())) {
                return false;
            }
            rejected.add("rank " + e.getKey() + " from " + e.getValue().peer() + " joined, then its connection closed");
            closeQuietly(e.getValue().socket());
            return true;
        });
        return joined.size() == processCount - 1;
    }

    /**
     * Sends every joiner the id, waits until each confirms it, then lets them all go. A joiner
     * that cannot be reached or does not confirm stops the job on every process.
     */
    private void handOut(byte[] id, long deadline) {
        Map<Integer, Joiner> all;
        synchronized (this) {
            all = new TreeMap<>(joined);
        }
        for (var e : all.entrySet()) {
            Joiner j = e.getValue();
            try {
                RendezvousWire.writeOk(j.out(), id, auth.idProof(j.serverNonce(), j.clientNonce(), id));
            } catch (IOException ex) {
                throw failEveryone("every rank joined, but the id could not be sent to rank " + e.getKey() + " at " + j.peer()
                        + " (" + ex.getMessage() + "); the job is stopped on every process");
            }
        }
        for (var e : all.entrySet()) {
            Joiner j = e.getValue();
            try {
                j.socket().setSoTimeout((int) Math.max(1, Math.min(HANDSHAKE_MILLIS,
                        Duration.ofNanos(deadline - System.nanoTime()).toMillis())));
                RendezvousWire.readAck(j.in(), j.peer());
            } catch (IOException | RendezvousException ex) {
                throw failEveryone("rank " + e.getKey() + " at " + j.peer() + " did not confirm the id (" + ex.getMessage()
                        + "); the job is stopped on every process");
            }
        }
        List<String> unreachable = new ArrayList<>();
        all.forEach((rank, j) -> {
            try {
                RendezvousWire.writeGo(j.out());
            } catch (IOException ex) {
                unreachable.add("rank " + rank + " at " + j.peer() + " (" + ex.getMessage() + ")");
            }
        });
        if (!unreachable.isEmpty()) {
            throw new RendezvousException("every rank confirmed the id, but the go-ahead could not be sent to " + unreachable);
        }
    }

    /** One connection's handshake, on its own thread: authenticates it and takes its rank's slot, or tells it why not. */
    private void admit(Socket socket, long handshakeMillis) {
        String peer = String.valueOf(socket.getRemoteSocketAddress());
        try {
            socket.setSoTimeout((int) handshakeMillis);
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            byte[] serverNonce = RendezvousAuth.nonce();
            RendezvousWire.writeHello(out, serverNonce);
            RendezvousWire.Join join = RendezvousWire.readJoin(in, peer);
            String refusal = take(join, new Joiner(socket, in, out, serverNonce, join.clientNonce(), peer));
            if (refusal != null) {
                RendezvousWire.writeError(out, refusal);
                socket.close();
            }
        } catch (IOException | RendezvousException e) {
            synchronized (this) {
                rejected.add("a broken handshake from " + peer + " (" + e.getMessage() + ")");
            }
            closeQuietly(socket);
        }
    }

    /** Gives {@code joiner} its rank's slot; returns why not, or null. */
    private synchronized String take(RendezvousWire.Join join, Joiner joiner) {
        String refusal = refusal(join, joiner.serverNonce(), joiner.peer());
        if (refusal != null) {
            rejected.add(refusal);
            return refusal;
        }
        joined.put(join.rank(), joiner);
        return null;
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
            if (!alive(first)) {
                rejected.add("rank " + join.rank() + " rejoined from " + peer + " after its connection from " + first.peer() + " closed");
                closeQuietly(first.socket());
                return null;
            }
            return "duplicate rank " + join.rank() + ": it already joined from " + first.peer() + ", and again from " + peer
                    + " (check RANK/SLURM_PROCID)";
        }
        return null;
    }

    /**
     * Whether a joiner's connection is still open. A joiner sends nothing while it waits for the
     * id, so a read that times out at once means alive; end of stream or an error means its
     * process is gone.
     */
    private static boolean alive(Joiner j) {
        try {
            j.socket().setSoTimeout(1);
            j.in().read();
            return false;    // end of stream, or bytes that a waiting joiner never sends
        } catch (SocketTimeoutException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private String timeoutMessage(Duration timeout) {
        synchronized (this) {
            List<Integer> missing = IntStream.range(1, processCount).filter(r -> !joined.containsKey(r)).boxed().toList();
            return "rendezvous on " + address + " timed out after " + timeout.toSeconds() + " s: missing ranks " + missing
                    + " of " + processCount + " processes" + (rejected.isEmpty() ? "" : "; refused meanwhile: " + rejected);
        }
    }

    /** Tells every joiner still waiting why the job cannot start; returns the exception for the master's caller. */
    private RendezvousException failEveryone(String message) {
        List<Joiner> waiting;
        synchronized (this) {
            waiting = new ArrayList<>(joined.values());
        }
        for (Joiner j : waiting) {
            try {
                RendezvousWire.writeError(j.out(), message);
            } catch (IOException e) {
                // that joiner is gone; its own deadline reports it
            }
        }
        return new RendezvousException(message);
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // closing: nothing left to tell
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            joined.values().forEach(j -> closeQuietly(j.socket()));
        }
        try {
            listener.close();
        } catch (IOException e) {
            // closing: nothing left to tell
        }
    }
}
