package dev.longbow.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Everything read back from a file is covered by a checksum: one flipped bit anywhere in the header is refused. */
class SafeTensorsHeaderTest {

    @Test
    void everyFlippedBitOfTheHeaderIsRefused(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("small.safetensors");
        try (HostAllocation a = new HostAllocation(64); HostAllocation b = new HostAllocation(64)) {
            Tensor x = HostAllocation.tensor(a, DType.F32, 2, 3);
            Tensor y = HostAllocation.tensor(b, DType.BF16, 4);
            for (int i = 0; i < 6; i++) {
                x.setFloat(i, i + 0.5f);
            }
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("x", x);
            tensors.put("y", y);
            SafeTensors.write(file, tensors, Map.of("longbow.step", "12", "longbow.data", "3:4:5", "longbow.run_id", "r1"));
        }
        byte[] good = Files.readAllBytes(file);
        long headerEnd = 8 + ByteBuffer.wrap(good, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals("12", SafeTensors.readMetadata(file).get("longbow.step"));
        for (int at = 0; at < headerEnd; at++) {
            for (int bit : new int[] {0x01, 0x10}) {
                byte[] flipped = good.clone();
                flipped[at] ^= (byte) bit;
                Files.write(file, flipped);
                int where = at;
                assertThrows(CorruptCheckpointException.class, () -> SafeTensors.open(file).close(),
                        () -> "byte " + where + " ('" + (char) good[where] + "') flipped by " + bit + " was accepted");
            }
        }
    }
}
