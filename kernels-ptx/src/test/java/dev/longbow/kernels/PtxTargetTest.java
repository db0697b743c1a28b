package dev.longbow.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** PTX compatibility rules (PTX ISA, "Target ISA notes"): sm_XX runs on XX and newer, sm_XXa on XX only. */
class PtxTargetTest {
    private static final Set<String> PLAIN = Set.of("sm_80", "sm_90");
    private static final Set<String> WITH_WGMMA = Set.of("sm_80", "sm_90", "sm_90a");

    @Test
    void amperePicksSm80() {
        assertEquals("sm_80", PtxTarget.choose("f", 8, 0, PLAIN::contains));
        assertEquals("sm_80", PtxTarget.choose("f", 8, 6, WITH_WGMMA::contains));
        assertEquals("sm_80", PtxTarget.choose("f", 8, 9, WITH_WGMMA::contains));
    }

    @Test
    void hopperPrefersItsArchSpecificPtx() {
        assertEquals("sm_90", PtxTarget.choose("f", 9, 0, PLAIN::contains));
        assertEquals("sm_90a", PtxTarget.choose("f", 9, 0, WITH_WGMMA::contains));
    }

    @Test
    void newerGpusJitTheNewestPortablePtx() {
        assertEquals("sm_90", PtxTarget.choose("f", 10, 0, WITH_WGMMA::contains));
        assertEquals("sm_90", PtxTarget.choose("f", 12, 0, WITH_WGMMA::contains));
    }

    @Test
    void olderGpusAreRefusedByName() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> PtxTarget.choose("gemm", 7, 5, PLAIN::contains));
        assertTrue(e.getMessage().contains("7.5") && e.getMessage().contains("gemm"), e.getMessage());
    }

    @Test
    void committedPtxIsOnTheClassPath() {
        for (KernelSignature sig : Kernels.ALL) {
            for (String target : PLAIN) {
                assertTrue(PtxTarget.class.getResource(PtxTarget.resource(sig.file(), target)) != null, sig.file() + " " + target);
            }
        }
    }
}
