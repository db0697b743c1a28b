package dev.longbow.comm.nccl;

import dev.longbow.backend.BackendChoice;
/** Asks the NCCL launcher to run in a JVM whose environment names libraries that do not exist; prints its answer. */
public final class MissingLibrariesProbe {
    private MissingLibrariesProbe() {
    }

    public static void main(String[] args) {
        try {
            new NcclLauncher().run(1, BackendChoice.CUDA, (backend, comm) -> null);
            System.out.println("run: started");
        } catch (RuntimeException e) {
            System.out.println("run: " + e.getMessage());
        }
    }
}
