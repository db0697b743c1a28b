package dev.longbow.comm.local;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.GroupAbortedException;
import dev.longbow.parallel.AttentionBuffers;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.parallel.WallFacer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Rank code on threads a program starts itself, with endpoints from {@link LocalCommunicator#create}
 * and no launcher: a rank that throws stops its peers at once, not after the collective timeout.
 */
class UserThreadsTest {
    /** Far longer than any of these tests may take: reaching it would be the bug. */
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    /** Runs {@code body} for each rank on a thread of its own; the futures complete with what each rank threw, or null. */
    private static List<CompletableFuture<Throwable>> start(List<LocalCommunicator> comms, RankBody body) {
        return comms.stream().map(comm -> {
            CompletableFuture<Throwable> ended = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    body.run(comm);
                    ended.complete(null);
                } catch (Throwable e) {
                    ended.complete(e);
                    throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
                }
            }, "user-rank-" + comm.rank());
            t.setUncaughtExceptionHandler((thread, e) -> { });   // the test reads it from the future
            t.start();
            return ended;
        }).toList();
    }

    private interface RankBody {
        void run(Communicator comm) throws Exception;
    }

    private static Throwable within10s(CompletableFuture<Throwable> f) throws InterruptedException, ExecutionException {
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("a peer of the failed rank was still waiting after 10 s (the group was not aborted)", e);
        }
    }

    @Test
    void aRankThatThrowsBetweenCollectivesAbortsThePeersWaitingForIt() throws Exception {
        List<LocalCommunicator> comms = LocalCommunicator.create(3, TIMEOUT);
        List<CompletableFuture<Throwable>> ended = start(comms, comm -> {
            comm.barrier();
            if (comm.rank() == 1) {
                throw new IllegalStateException("rank 1's own bug");
            }
            comm.barrier();
        });
        assertTrue(within10s(ended.get(1)).getMessage().contains("rank 1's own bug"));
        for (int r : new int[] {0, 2}) {
            Throwable e = within10s(ended.get(r));
            assertInstanceOf(GroupAbortedException.class, e);
            assertTrue(e.getMessage().contains("rank 1's thread 'user-rank-1' ended without closing its communicator"), e.getMessage());
        }
    }

    @Test
    void aRankThatThrowsInsideASchemeAbortsThePeersWaitingInItsSubGroups() throws Exception {
        // WallFacer on 4 ranks with teams of 2 talks over split-off team and ring communicators.
        AttentionShape shape = AttentionShape.of(64, 4, 16);
        List<LocalCommunicator> comms = LocalCommunicator.create(4, TIMEOUT);
        List<CompletableFuture<Throwable>> ended = start(comms, comm -> {
            try (Backend backend = BackendChoice.CPU.open(comm.rank());
                 AttentionBuffers mine = AttentionBuffers.allocate(backend, shape, shape.localLen(4));
                 SequenceParallelAttention attention = new WallFacer(2, WallFacer.Arrangement.TEAMS_ADJACENT).attention(shape, backend, comm)) {
                backend.tensors().fill(mine.q(), 0.5f);
                backend.tensors().fill(mine.k(), 0.5f);
                backend.tensors().fill(mine.v(), 0.5f);
                // Rank 2 passes a query buffer of the wrong size: its forward throws before any transfer.
                if (comm.rank() == 2) {
                    attention.forward(mine.q().rows(0, 1), mine.k(), mine.v(), mine.out(), mine.lse()).close();
                }
                mine.forward(attention).close();
            }
        });
        assertInstanceOf(IllegalArgumentException.class, within10s(ended.get(2)));
        for (int r : new int[] {0, 1, 3}) {
            Throwable e = within10s(ended.get(r));
            assertTrue(e instanceof GroupAbortedException || e instanceof dev.longbow.comm.CollectiveMismatchException,
                    "rank " + r + ": " + e);
        }
    }

    @Test
    void closingAnEndpointClosesWhatWasSplitFromIt() throws Exception {
        List<LocalCommunicator> comms = LocalCommunicator.create(2, TIMEOUT);
        List<CompletableFuture<Throwable>> ended = start(comms, comm -> {
            Communicator pair = comm.split(0, comm.rank());
            if (comm.rank() == 0) {
                comm.close();    // leaves the world, and with it the pair, without calling the pair's barrier
                return;
            }
            pair.barrier();
        });
        assertTrue(within10s(ended.get(0)) == null);
        Throwable e = within10s(ended.get(1));
        assertTrue(e.getMessage().contains("rank 0 closed its communicator without calling it"), e.getMessage());
    }
}
