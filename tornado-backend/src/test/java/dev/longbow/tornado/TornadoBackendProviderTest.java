package dev.longbow.tornado;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.Backends;
import org.junit.jupiter.api.Test;

/**
 * The provider says what is missing, whichever way this build and JVM were made: no kernels (built
 * without an SDK), kernels but no TornadoVM in the JVM (no argfile), or nothing missing.
 */
class TornadoBackendProviderTest {

    @Test
    void unavailableReasonSaysWhatToInstallOrHowToStart() {
        String reason = Backends.provider(BackendChoice.TORNADO).unavailableReason();
        boolean kernels = getClass().getClassLoader().getResource("dev/longbow/tornado/vm/TornadoBackend.class") != null;
        boolean tornadoLoaded = ModuleLayer.boot().findModule("tornado.runtime").isPresent();
        if (!kernels) {
            assertTrue(reason.contains("no TornadoVM kernels") && reason.contains("TORNADOVM_HOME") && reason.contains("5.2.0"), reason);
        } else if (!tornadoLoaded) {
            assertTrue(reason.contains("tornado-argfile"), reason);
        } else {
            assertNull(reason);
        }
        if (reason != null) {
            var e = assertThrows(IllegalStateException.class, () -> Backends.open(BackendChoice.TORNADO, 0));
            assertTrue(e.getMessage().contains(reason), e.getMessage());
        }
    }
}
