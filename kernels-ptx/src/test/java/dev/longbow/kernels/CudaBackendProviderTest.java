package dev.longbow.kernels;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendProvider;
import dev.longbow.backend.Backends;
import dev.longbow.tensor.Placement;
import org.junit.jupiter.api.Test;

/** The provider as ServiceLoader finds it; on a machine without a GPU, the reason it gives. */
class CudaBackendProviderTest {

    @Test
    void serviceLoaderFindsItByName() {
        BackendProvider provider = Backends.provider(BackendChoice.CUDA);
        assertInstanceOf(CudaBackendProvider.class, provider);
        assertEquals("cuda", provider.name());
    }

    @Test
    void itSaysWhyItCannotRunOrItOpens() {
        String reason = Backends.provider(BackendChoice.CUDA).unavailableReason();
        if (reason != null) {
            assertTrue(reason.contains("CUDA driver"), "the reason names what is missing: " + reason);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.open(BackendChoice.CUDA, 0));
            assertTrue(e.getMessage().contains(reason), e.getMessage());
        } else {
            try (Backend backend = Backends.open(BackendChoice.CUDA, 0)) {
                assertEquals(Placement.DEVICE, backend.placement());
            }
        }
    }
}
