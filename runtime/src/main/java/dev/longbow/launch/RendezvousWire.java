package dev.longbow.launch;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * The messages of the rendezvous, in order:
 * <pre>
 * master -> joiner  HELLO  magic, version, serverNonce[32]
 * joiner -> master  JOIN   magic, rank, processCount, clientNonce[32], joinProof[32]
 * master -> joiner  OK     status 0, idLength, id, idProof[32]     (once every rank has joined)
 *                or ERROR  status 1, message                       (rejected, or timed out)
 * joiner -> master  ACK    magic                                   (the id arrived and is proven)
 * master -> joiner  GO     status 0                                (every joiner confirmed: use the id)
 *                or ERROR  status 1, message                       (a joiner did not: nobody uses it)
 * </pre>
 */
final class RendezvousWire {
    static final int MAGIC = 0x4C42525A;   // "LBRZ"
    static final int VERSION = 2;
    static final byte OK = 0;
    static final byte ERROR = 1;
    static final int MAX_ID_BYTES = 4096;

    private RendezvousWire() {
    }

    static void writeHello(DataOutputStream out, byte[] serverNonce) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.write(serverNonce);
        out.flush();
    }

    /** Reads HELLO and returns the server nonce. */
    static byte[] readHello(DataInputStream in, String peer) throws IOException {
        expectMagic(in, peer);
        int version = in.readInt();
        if (version != VERSION) {
            throw new RendezvousException(peer + " speaks rendezvous version " + version + ", this process " + VERSION);
        }
        return readBytes(in, RendezvousAuth.NONCE_BYTES);
    }

    record Join(int rank, int processCount, byte[] clientNonce, byte[] proof) {
    }

    static void writeJoin(DataOutputStream out, Join join) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(join.rank());
        out.writeInt(join.processCount());
        out.write(join.clientNonce());
        out.write(join.proof());
        out.flush();
    }

    static Join readJoin(DataInputStream in, String peer) throws IOException {
        expectMagic(in, peer);
        return new Join(in.readInt(), in.readInt(), readBytes(in, RendezvousAuth.NONCE_BYTES), readBytes(in, RendezvousAuth.MAC_BYTES));
    }

    static void writeOk(DataOutputStream out, byte[] id, byte[] proof) throws IOException {
        out.writeByte(OK);
        out.writeInt(id.length);
        out.write(id);
        out.write(proof);
        out.flush();
    }

    static void writeAck(DataOutputStream out) throws IOException {
        out.writeInt(MAGIC);
        out.flush();
    }

    static void readAck(DataInputStream in, String peer) throws IOException {
        expectMagic(in, peer);
    }

    static void writeGo(DataOutputStream out) throws IOException {
        out.writeByte(OK);
        out.flush();
    }

    static void writeError(DataOutputStream out, String message) throws IOException {
        out.writeByte(ERROR);
        out.writeUTF(message);
        out.flush();
    }

    static void expectMagic(DataInputStream in, String peer) throws IOException {
        int magic = in.readInt();
        if (magic != MAGIC) {
            throw new RendezvousException(peer + " is not a Longbow rendezvous (magic 0x" + Integer.toHexString(magic) + ")");
        }
    }

    static byte[] readBytes(DataInputStream in, int n) throws IOException {
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }
}
