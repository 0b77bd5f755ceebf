package dev.tollgate.cluster.postgres;

import dev.tollgate.meter.ledger.Chain;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Follows this gateway's local ledger file by offset: each call reads the complete records written
 * since the last one, checks each (its hash, its sequence, its prev: the cluster never takes a
 * record the local chain would reject) and returns them in order. It reads no record beyond
 * {@code durable}, the local ledger's durable head: a batch whose fsync failed is written and then
 * cut back by the ledger thread, and its lines must never leave the gateway. Confined to the
 * replicator's thread.
 */
final class LocalTail {
    /** Bytes read at a time (doubled for a record longer than that). */
    private static final int CHUNK = 1 << 20;
    private final Path file;
    private final int firstChunk;
    private long offset;
    private long seq;
    private String prev = Chain.GENESIS;

    LocalTail(Path file) {
        this(file, CHUNK);
    }

    /** With a smaller first chunk, for tests of records that straddle chunks. */
    LocalTail(Path file, int chunk) {
        this.file = file;
        this.firstChunk = chunk;
    }

    /**
     * The records after the last one returned, up to sequence {@code durable} and at most {@code max}.
     *
     * @throws IOException if the file cannot be read, or a complete record in it is not sound
     */
    List<LedgerRecord> next(long durable, int max) throws IOException {
        List<LedgerRecord> out = new ArrayList<>();
        if (seq >= durable || !Files.exists(file)) {
            return out;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            int chunk = firstChunk;
            while (seq < durable && out.size() < max && offset < ch.size()) {
                ByteBuffer buf = ByteBuffer.allocate((int) Math.min(ch.size() - offset, chunk));
                while (buf.hasRemaining() && ch.read(buf, offset + buf.position()) > 0) {
                    // read the chunk
                }
                byte[] bytes = buf.array();
                int start = 0;
                for (int i = 0; i < buf.position() && seq < durable && out.size() < max; i++) {
                    if (bytes[i] != '\n') {
                        continue;
                    }
                    String line = new String(bytes, start, i - start, StandardCharsets.UTF_8);
                    Object r = Chain.open(line, seq + 1, prev);
                    if (r instanceof String reason) {
                        throw new IOException("local ledger " + file + ", record " + (seq + 1) + ": " + reason);
                    }
                    LedgerRecord rec = (LedgerRecord) r;
                    out.add(rec);
                    seq = rec.seq();
                    prev = rec.hash();
                    start = i + 1;
                }
                if (start == 0) {
                    if (buf.position() < chunk) {
                        break; // the rest is a record still being written
                    }
                    chunk *= 2; // a record longer than the chunk
                    continue;
                }
                offset += start;
            }
        }
        return out;
    }
}
