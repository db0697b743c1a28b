/**
 * The in-process communicator: ranks are threads of one JVM and tensors host memory.
 * {@link dev.longbow.comm.local.LocalRanks} (or {@code RankLaunchers.run} with the CPU backend)
 * starts the threads; a program that starts its own makes the endpoints with
 * {@link dev.longbow.comm.local.LocalCommunicator#create} and hands one to each thread, whose
 * failure then aborts the group as a launcher's would.
 */
package dev.longbow.comm.local;
