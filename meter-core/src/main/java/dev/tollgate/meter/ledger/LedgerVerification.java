package dev.tollgate.meter.ledger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The result of checking a ledger file from its first record to its last: the sound records,
 * and the first bad one if any (its line number, sequence and why). {@code tornTail} holds the bytes
 * after the last newline: a record whose write was cut short by a crash.
 */
public record LedgerVerification(List<LedgerRecord> records, int badLine, String reason, long goodBytes, byte[] tornTail) {

    public boolean ok() {
        return badLine == 0 && tornTail.length == 0;
    }

    public String lastHash() {
        return records.isEmpty() ? Chain.GENESIS : records.get(records.size() - 1).hash();
    }

    /** The head of the sound part of the chain: its record count and last hash. */
    public LedgerHead head() {
        return new LedgerHead(records.size(), lastHash());
    }

    /** The position (1-based sequence) of the sound record with {@code hash}, or 0 if none has it. */
    public long seqOf(String hash) {
        for (LedgerRecord r : records) {
            if (r.hash().equalsIgnoreCase(hash)) {
                return r.seq();
            }
        }
        return 0;
    }

    /** Reads and checks {@code file}; a missing file is an empty, sound ledger. */
    public static LedgerVerification of(Path file) throws IOException {
        byte[] all = Files.exists(file) ? Files.readAllBytes(file) : new byte[0];
        List<LedgerRecord> records = new ArrayList<>();
        String prev = Chain.GENESIS;
        int start = 0;
        int line = 0;
        while (start < all.length) {
            int nl = indexOf(all, (byte) '\n', start);
            if (nl < 0) {
                byte[] tail = java.util.Arrays.copyOfRange(all, start, all.length);
                return new LedgerVerification(records, 0, null, start, tail);
            }
            line++;
            String text = new String(all, start, nl - start, StandardCharsets.UTF_8);
            Object r = Chain.open(text, records.size() + 1L, prev);
            if (r instanceof String reason) {
                return new LedgerVerification(records, line, reason, start, new byte[0]);
            }
            LedgerRecord rec = (LedgerRecord) r;
            records.add(rec);
            prev = rec.hash();
            start = nl + 1;
        }
        return new LedgerVerification(records, 0, null, all.length, new byte[0]);
    }

    private static int indexOf(byte[] b, byte x, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == x) {
                return i;
            }
        }
        return -1;
    }
}
