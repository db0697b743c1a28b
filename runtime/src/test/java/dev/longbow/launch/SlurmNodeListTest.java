package dev.longbow.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class SlurmNodeListTest {

    @Test
    void aPlainHostIsItsOwnFirstHost() {
        assertEquals("login2", SlurmNodeList.firstHost("login2"));
    }

    @Test
    void bracketsExpandRangesAndListsKeepingZeroPadding() {
        assertEquals(List.of("gpu08", "gpu09", "gpu10", "gpu12", "cpu1"), SlurmNodeList.hosts("gpu[08-10,12],cpu1"));
        assertEquals("gpu08", SlurmNodeList.firstHost("gpu[08-10,12],cpu1"));
    }

    @Test
    void severalGroupsInOneNameFormTheirProductLeftmostSlowest() {
        assertEquals(List.of("r1n5", "r1n6", "r2n5", "r2n6"), SlurmNodeList.hosts("r[1-2]n[5-6]"));
    }

    @Test
    void hyphensInHostNamesAreNotRanges() {
        assertEquals(List.of("a100-node-3", "a100-node-4"), SlurmNodeList.hosts("a100-node-[3-4]"));
    }

    @Test
    void malformedListsNameTheProblem() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SlurmNodeList.hosts("gpu[1-3")).getMessage().contains("never closed"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SlurmNodeList.hosts("gpu[5-3]")).getMessage().contains("runs backwards"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SlurmNodeList.hosts("gpu[a]")).getMessage().contains("'a'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SlurmNodeList.hosts("a,,b")).getMessage().contains("empty entry"));
    }
}
