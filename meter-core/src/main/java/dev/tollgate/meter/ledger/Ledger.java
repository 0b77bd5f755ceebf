package dev.tollgate.meter.ledger;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The append-only, hash-chained ledger (SPEC §6): {@code <dataDir>/ledger/ledger.jsonl}, one
 * record per line (see {@link Chain} for the format). {@link #append} returns only once the record
 * is on disk (written and fsynced), so a caller that reports an event after appending it never
 * reports what could be lost.
 *
 * <p>At open, the file is checked from its first record. A last line cut short by a crash (a torn
 * record) is moved to {@code ledger.jsonl.torn-<millis>} and the file truncated after the last
 * sound record; nothing before it is touched. A bad record before the end (the file was altered)
 * is logged and counted, and appending goes on after the last record, so the break stays visible
 * to {@code tollgate verify-ledger}.
 *
 * <p>Appends are serialized by the object's lock; they are rare (flags, periods, starts, stops).
 * A failed write (full disk) is rolled back to the last sound record, logged and counted, and the
 * ledger reports itself failing until a write succeeds again.
 */
public final class Ledger implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Ledger.class);
    public static final String FILE = "ledger.jsonl";
    /** Members the ledger writes itself; a caller's fields of these names are not taken. */
    private static final java.util.Set<String> RESERVED = java.util.Set.of("seq", "time", "type", "prev", "hash");

    private final Path file;
    private final Clock clock;
    private final FileChannel channel;
    private final AtomicLong failures = new AtomicLong();
    private volatile boolean failing;
    private final int recoveredTornRecords;
    private final int brokenLine;
    // guarded by this
    private long seq;
    private String prev;
    private long size;

    private Ledger(Path file, Clock clock, FileChannel channel, long seq, String prev, long size, int torn, int brokenLine) {
        this.file = file;
        this.clock = clock;
        this.channel = channel;
        this.seq = seq;
        this.prev = prev;
        this.size = size;
        this.recoveredTornRecords = torn;
        this.brokenLine = brokenLine;
    }

    public static Path fileIn(Path dataDir) {
        return dataDir.resolve("ledger").resolve(FILE);
    }

    /** Opens (creating if needed) the ledger of {@code dataDir}, setting aside a torn last record. */
    public static Ledger open(Path dataDir, Clock clock) throws IOException {
        Path file = fileIn(dataDir);
        Files.createDirectories(file.getParent());
        LedgerVerification v = LedgerVerification.of(file);
        long fileSize = Files.exists(file) ? Files.size(file) : 0;
        int torn = 0;
        int broken = 0;
        long keep = fileSize;
        List<LedgerRecord> records = v.records();
        if (v.tornTail().length > 0) {
            torn = 1;
            keep = v.goodBytes();
            setAside(file, v.tornTail(), clock);
        } else if (v.badLine() > 0) {
            byte[] rest = java.util.Arrays.copyOfRange(Files.readAllBytes(file), (int) v.goodBytes(), (int) fileSize);
            boolean last = indexOfNewline(rest) == rest.length - 1;
            if (last) {
                torn = 1;
                keep = v.goodBytes();
                setAside(file, rest, clock);
            } else {
                broken = v.badLine();
                log.error("ledger {}: record on line {} is bad: {}; appending continues after the last record, and "
                        + "tollgate verify-ledger will report the break", file, v.badLine(), v.reason());
            }
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
        if (keep < ch.size()) {
            ch.truncate(keep);
            ch.force(true);
        }
        long lastSeq;
        String lastHash;
        if (broken > 0) {
            // continue the sequence after whatever the last line claims to be, so the break is the only one
            String[] lines = Files.readString(file).split("\n");
            String lastLine = lines[lines.length - 1];
            ObjectNode last = (ObjectNode) Chain.JSON.readTree(lastLine);
            lastSeq = last.path("seq").asLong();
            lastHash = last.path("hash").asText();
        } else {
            lastSeq = records.size();
            lastHash = v.lastHash();
        }
        Ledger ledger = new Ledger(file, clock, ch, lastSeq, lastHash, ch.size(), torn, broken);
        log.info("ledger {}: {} records{}", file, lastSeq, torn > 0 ? ", a torn last record set aside" : "");
        return ledger;
    }

    private static int indexOfNewline(byte[] b) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static void setAside(Path file, byte[] tail, Clock clock) throws IOException {
        Path aside = file.resolveSibling(FILE + ".torn-" + clock.millis());
        Files.write(aside, tail);
        log.warn("ledger {}: the last record was cut short ({} bytes, a crash during its write); set aside in {}", file, tail.length, aside);
    }

    /**
     * Appends a record of {@code type} with {@code fields} and waits until it is on disk.
     *
     * @return the record as written
     * @throws UncheckedIOException if it could not be written (nothing of it stays in the file)
     */
    public synchronized LedgerRecord append(String type, ObjectNode fields) {
        // seq, time and type first, then the fields, then prev: the order a reader expects
        ObjectNode body = Chain.JSON.createObjectNode();
        body.put("seq", seq + 1);
        body.put("time", Instant.ofEpochMilli(clock.millis()).toString());
        body.put("type", type);
        fields.fields().forEachRemaining(e -> {
            if (!RESERVED.contains(e.getKey())) {
                body.set(e.getKey(), e.getValue());
            }
        });
        body.put("prev", prev);
        String line = Chain.seal(body);
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            long at = size;
            while (buf.hasRemaining()) {
                at += channel.write(buf, at);
            }
            channel.force(false);
        } catch (IOException e) {
            failures.incrementAndGet();
            failing = true;
            try {
                channel.truncate(size);
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            log.error("ledger {}: could not write a {} record: {}", file, type, e.toString());
            throw new UncheckedIOException(e);
        }
        size += bytes.length;
        seq++;
        String hash = line.substring(line.length() - 66, line.length() - 2);
        prev = hash;
        failing = false;
        return new LedgerRecord(seq, type, body.path("time").asText(), body, hash);
    }

    /** Every sound record, read back from the file. */
    public List<LedgerRecord> records() throws IOException {
        return LedgerVerification.of(file).records();
    }

    public Path file() {
        return file;
    }

    public synchronized long size() {
        return seq;
    }

    public boolean failing() {
        return failing;
    }

    public long failures() {
        return failures.get();
    }

    public int recoveredTornRecords() {
        return recoveredTornRecords;
    }

    /** The line of the first bad record found at open, 0 if none. */
    public int brokenLine() {
        return brokenLine;
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }
}
