package dev.longbow.launch;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Agrees on one opaque id (NCCL's unique id) across the processes of a job, over TCP to the
 * master. The master makes the id and serves it; every other process connects, proves it holds
 * the job's token ({@value RendezvousAuth#TOKEN_VARIABLE}) and gets the id back with the master's
 * proof, confirms it, and uses it only once the master says every process has: the job starts on
 * all processes or on none. Every wait is bounded: the master gives up after {@code timeout}
 * naming the ranks that never came, joiners a little later (so they hear the master's verdict
 * first). A joiner that dies and is restarted within the timeout takes its place again.
 */
public final class Rendezvous {
    /** How much longer a joiner waits than the master, to hear the master's timeout message. */
    static final Duration JOINER_GRACE = Duration.ofSeconds(5);
    private static final long RETRY_MILLIS = 200;

    private Rendezvous() {
    }

    /**
     * This process's part of the rendezvous: on the master, makes the id with {@code idOnMaster}
     * and hands it to every other process; elsewhere, fetches it. A single-process job needs no
     * token and no network.
     *
     * @param env the process environment, for the token
     */
    public static byte[] exchange(RankEnvironment where, Map<String, String> env, Supplier<byte[]> idOnMaster, Duration timeout) {
        if (where.processCount() == 1) {
            return idOnMaster.get();
        }
        RendezvousAuth auth = new RendezvousAuth(RendezvousAuth.tokenFrom(env));
        if (where.isMaster()) {
            byte[] id = checkedId(idOnMaster.get());
            try (RendezvousServer server = new RendezvousServer(bindAddress(where), where.processCount(), auth)) {
                server.distribute(id, timeout);
            }
            return id;
        }
        return join(where.masterHost(), where.masterPort(), where.processRank(), where.processCount(), auth, timeout.plus(JOINER_GRACE));
    }

    /** A joiner's side: connect (retrying while the master is not up yet), authenticate, wait for the id. */
    static byte[] join(String host, int port, int rank, int processCount, RendezvousAuth auth, Duration patience) {
        long deadline = System.nanoTime() + patience.toNanos();
        String master = "the master at " + host + ":" + port;
        try (Socket socket = connect(host, port, deadline, master)) {
            socket.setSoTimeout(remainingMillis(deadline, master));
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            byte[] serverNonce = RendezvousWire.readHello(in, master);
            byte[] clientNonce = RendezvousAuth.nonce();
            RendezvousWire.writeJoin(out, new RendezvousWire.Join(rank, processCount, clientNonce,
                    auth.joinProof(serverNonce, clientNonce, rank, processCount)));
            socket.setSoTimeout(remainingMillis(deadline, master));
            if (in.readByte() != RendezvousWire.OK) {
                throw new RendezvousException("rank " + rank + " was refused: " + in.readUTF());
            }
            int length = in.readInt();
            if (length < 1 || length > RendezvousWire.MAX_ID_BYTES) {
                throw new RendezvousException(master + " sent an id of " + length + " bytes");
            }
            byte[] id = RendezvousWire.readBytes(in, length);
            byte[] proof = RendezvousWire.readBytes(in, RendezvousAuth.MAC_BYTES);
            if (!RendezvousAuth.matches(auth.idProof(serverNonce, clientNonce, id), proof)) {
                throw new RendezvousException(master + " could not prove it holds this job's " + RendezvousAuth.TOKEN_VARIABLE);
            }
            RendezvousWire.writeAck(out);
            socket.setSoTimeout(remainingMillis(deadline, master));
            if (in.readByte() != RendezvousWire.OK) {
                throw new RendezvousException("rank " + rank + " got the id but the job cannot start: " + in.readUTF());
            }
            return id;
        } catch (SocketTimeoutException e) {
            throw new RendezvousException("rank " + rank + " heard nothing from " + master + " within " + patience.toSeconds() + " s", e);
        } catch (EOFException e) {
            throw new RendezvousException(master + " closed the connection of rank " + rank + " (did the master fail? see its log)", e);
        } catch (IOException e) {
            throw new RendezvousException("rank " + rank + " lost " + master + ": " + e.getMessage(), e);
        }
    }

    private static Socket connect(String host, int port, long deadline, String master) {
        IOException last = null;
        while (System.nanoTime() < deadline) {
            Socket socket = new Socket();
            try {
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(host, port), Math.min(remainingMillis(deadline, master), 2_000));
                return socket;
            } catch (IOException e) {
                last = e;
                closeQuietly(socket);
                sleep(RETRY_MILLIS);
            }
        }
        throw new RendezvousException("could not reach " + master + " before the deadline"
                + (last == null ? "" : " (last error: " + last.getMessage() + ")") + "; is MASTER_ADDR right and the master running?");
    }

    /** Binds to MASTER_ADDR when it is one of this host's addresses (loopback stays loopback), else to all. */
    private static InetSocketAddress bindAddress(RankEnvironment where) {
        try {
            InetAddress address = InetAddress.getByName(where.masterHost());
            if (address.isLoopbackAddress() || NetworkInterface.getByInetAddress(address) != null) {
                return new InetSocketAddress(address, where.masterPort());
            }
        } catch (IOException e) {
            // an unresolvable name here is still fine for the joiners' resolver: listen everywhere
        }
        return new InetSocketAddress(where.masterPort());
    }

    private static byte[] checkedId(byte[] id) {
        if (id.length < 1 || id.length > RendezvousWire.MAX_ID_BYTES) {
            throw new IllegalArgumentException("an id of " + id.length + " bytes; the rendezvous carries 1 to " + RendezvousWire.MAX_ID_BYTES);
        }
        return id.clone();
    }

    private static int remainingMillis(long deadline, String master) {
        long left = Duration.ofNanos(deadline - System.nanoTime()).toMillis();
        if (left <= 0) {
            throw new RendezvousException("gave up waiting for " + master);
        }
        return (int) Math.min(left, Integer.MAX_VALUE);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RendezvousException("interrupted while waiting for the master", e);
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // a socket that never connected: nothing to release
        }
    }
}
