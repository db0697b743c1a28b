package dev.longbow.launch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** The master's refusals, driven in one JVM by joiners that claim what a real process could not. */
class RendezvousServerTest {
    private static final RendezvousAuth AUTH = new RendezvousAuth("the-job-secret".getBytes(StandardCharsets.UTF_8));
    private static final byte[] ID = "an opaque id".getBytes(StandardCharsets.UTF_8);
    /** A thread per task: the common pool of a 2-core machine has one thread, too few for a master and a joiner. */
    private static final Executor THREADS = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon().factory());

    /** Runs a master for {@code processCount} on an ephemeral loopback port; returns its port and its outcome. */
    private record Master(int port, CompletableFuture<Void> outcome) {
    }

    private static Master master(int processCount, Duration timeout) {
        RendezvousServer server = new RendezvousServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), processCount, AUTH);
        int port = server.port();
        CompletableFuture<Void> outcome = CompletableFuture.runAsync(() -> {
            try (server) {
                server.distribute(ID, timeout);
            }
        }, THREADS);
        return new Master(port, outcome);
    }

    private static String refusal(int port, int rank, int processCount, RendezvousAuth auth) {
        return assertThrows(RendezvousException.class,
                () -> Rendezvous.join("127.0.0.1", port, rank, processCount, auth, Duration.ofSeconds(20))).getMessage();
    }

    @Test
    void joinersGetTheMastersId() {
        Master m = master(3, Duration.ofSeconds(20));
        CompletableFuture<byte[]> one = CompletableFuture.supplyAsync(() -> Rendezvous.join("127.0.0.1", m.port(), 1, 3, AUTH, Duration.ofSeconds(20)), THREADS);
        assertArrayEquals(ID, Rendezvous.join("127.0.0.1", m.port(), 2, 3, AUTH, Duration.ofSeconds(20)));
        assertArrayEquals(ID, one.join());
        m.outcome().join();
    }

    @Test
    void outOfRangeRankZeroAndAnotherWorldAreRefusedEachWithItsReason() {
        Master m = master(4, Duration.ofSeconds(3));
        assertTrue(refusal(m.port(), 7, 4, AUTH).contains("rank 7 from /127.0.0.1"), "out of range");
        assertTrue(refusal(m.port(), 7, 4, AUTH).contains("is out of range: joiners are ranks [1, 4)"));
        assertTrue(refusal(m.port(), 0, 4, AUTH).contains("rank 0 from"));
        assertTrue(refusal(m.port(), 2, 5, AUTH).contains("believes the job has 5 processes, the master has 4"));
        String timeout = assertThrows(CompletionException.class, () -> m.outcome().join()).getCause().getMessage();
        assertTrue(timeout.contains("missing ranks [1, 2, 3] of 4 processes; refused meanwhile:"), timeout);
    }

    @Test
    void aJoinerRejectsAnIdFromAMasterWithoutTheToken() throws Exception {
        // an impostor that accepts any join and answers with a proof made from another secret
        RendezvousAuth impostorAuth = new RendezvousAuth("another-secret".getBytes(StandardCharsets.UTF_8));
        try (ServerSocket impostor = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> serve = CompletableFuture.runAsync(() -> {
                try (Socket s = impostor.accept()) {
                    DataOutputStream out = new DataOutputStream(s.getOutputStream());
                    byte[] serverNonce = RendezvousAuth.nonce();
                    RendezvousWire.writeHello(out, serverNonce);
                    RendezvousWire.Join join = RendezvousWire.readJoin(new DataInputStream(s.getInputStream()), "joiner");
                    RendezvousWire.writeOk(out, ID, impostorAuth.idProof(serverNonce, join.clientNonce(), ID));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, THREADS);
            String message = refusal(impostor.getLocalPort(), 1, 2, AUTH);
            assertTrue(message.endsWith("could not prove it holds this job's LONGBOW_RENDEZVOUS_TOKEN"), message);
            serve.join();
        }
    }

    /** Connections that never say a word: each used to hold the master for a whole handshake (5 s), one after another. */
    @Test
    void idleConnectionsDelayNobody() throws Exception {
        Master m = master(3, Duration.ofSeconds(20));
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                idle.add(new Socket(InetAddress.getLoopbackAddress(), m.port()));
            }
            long start = System.nanoTime();
            CompletableFuture<byte[]> one = CompletableFuture.supplyAsync(() -> Rendezvous.join("127.0.0.1", m.port(), 1, 3, AUTH, Duration.ofSeconds(20)), THREADS);
            assertArrayEquals(ID, Rendezvous.join("127.0.0.1", m.port(), 2, 3, AUTH, Duration.ofSeconds(20)));
            assertArrayEquals(ID, one.join());
            m.outcome().join();
            assertTrue(System.nanoTime() - start < 4_000_000_000L, "the joiners were served while the idle connections waited");
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
    }

    /** Joins as {@code rank} on a raw connection, then drops it, as a process killed after joining does. */
    private static void joinAndDie(int port, int rank, int processCount) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] serverNonce = RendezvousWire.readHello(in, "master");
            byte[] clientNonce = RendezvousAuth.nonce();
            RendezvousWire.writeJoin(new DataOutputStream(s.getOutputStream()), new RendezvousWire.Join(rank, processCount, clientNonce,
                    AUTH.joinProof(serverNonce, clientNonce, rank, processCount)));
        }
    }

    @Test
    void aJoinerKilledAndRestartedRejoinsTheSameRound() throws Exception {
        Master m = master(3, Duration.ofSeconds(20));
        joinAndDie(m.port(), 1, 3);
        CompletableFuture<byte[]> two = CompletableFuture.supplyAsync(() -> Rendezvous.join("127.0.0.1", m.port(), 2, 3, AUTH, Duration.ofSeconds(20)), THREADS);
        assertArrayEquals(ID, Rendezvous.join("127.0.0.1", m.port(), 1, 3, AUTH, Duration.ofSeconds(20)), "the restarted rank 1");
        assertArrayEquals(ID, two.join());
        m.outcome().join();
    }

    @Test
    void aJoinerKilledAndNotRestartedFailsEveryProcessTogether() throws Exception {
        Master m = master(3, Duration.ofSeconds(2));
        joinAndDie(m.port(), 1, 3);
        long start = System.nanoTime();
        String two = assertThrows(RendezvousException.class,
                () -> Rendezvous.join("127.0.0.1", m.port(), 2, 3, AUTH, Duration.ofSeconds(20))).getMessage();
        String master = assertThrows(CompletionException.class, () -> m.outcome().join()).getCause().getMessage();
        assertTrue(master.contains("missing ranks [1] of 3 processes"), master);
        assertTrue(master.contains("rank 1 from /127.0.0.1"), "says that rank 1 joined, then left: " + master);
        assertTrue(two.contains("missing ranks [1] of 3 processes"), "rank 2 does not start alone: " + two);
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "within the timeout");
    }

    @Test
    void aMissingTokenSaysHowToSetIt() {
        String message = assertThrows(RendezvousException.class, () -> Rendezvous.exchange(
                new RankEnvironment(1, 2, 0, 1, "127.0.0.1", 1, "test"), Map.of(), () -> ID, Duration.ofSeconds(1))).getMessage();
        assertTrue(message.startsWith("LONGBOW_RENDEZVOUS_TOKEN is not set"), message);
    }

    @Test
    void nobodyListeningIsReportedAfterThePatienceRunsOut() {
        String message = assertThrows(RendezvousException.class,  // port 1: nothing listens there
                () -> Rendezvous.join("127.0.0.1", 1, 1, 2, AUTH, Duration.ofSeconds(1))).getMessage();
        assertTrue(message.contains("the master at 127.0.0.1:1"), message);
    }
}
