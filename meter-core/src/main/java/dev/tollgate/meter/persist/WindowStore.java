package dev.tollgate.meter.persist;

import dev.tollgate.meter.Incident;
import dev.tollgate.meter.Meter;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.zip.CRC32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the meter's live windows on disk so that a restart, or a crash, loses at most the last
 * second of counts (SPEC §6): a snapshot of every bucket now and then, and between snapshots a
 * journal written every second (one fsync per second for all the records of that second: group
 * commit, off the request path).
 *
 * <h2>Files ({@code <dataDir>/windows/})</h2>
 * <ul>
 *   <li>{@code snapshot-<g>.tsv}: every non-empty bucket of the last 48 hours, one per line
 *       ({@code entity TAB bucketStartMillis TAB posts TAB requests}), then {@code END TAB lines TAB crc32}.
 *       Written to a temporary file, fsynced and renamed: a snapshot is whole or absent.</li>
 *   <li>{@code journal-<g>.log}: batches since snapshot {@code g}; a batch is a header
 *       ({@code B TAB lines TAB crc32 TAB millis}) and its lines. A batch cut short by a crash fails
 *       its check and is dropped with everything after it.</li>
 * </ul>
 * Lines hold a bucket's <em>absolute</em> counts, and restoring keeps the largest value seen for a
 * bucket (counts only grow): replaying a line twice, or a snapshot and a journal that overlap,
 * never counts anything twice.
 *
 * <p>One thread writes (the gateway's journal thread): {@link #flush}, {@link #snapshot} and
 * {@link #close} are synchronized.
 */
public final class WindowStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WindowStore.class);

    private final Path dir;
    private final Meter meter;
    private final Clock clock;
    // guarded by this
    private long generation;
    private FileChannel journal;
    private long lastFlushMillis;
    private long batches;

    private WindowStore(Path dir, Meter meter, Clock clock) {
        this.dir = dir;
        this.meter = meter;
        this.clock = clock;
    }

    /** What {@link #open} found and restored. */
    public record Restored(int entities, long buckets, int journalBatches, boolean droppedTornBatch, long millis) {
    }

    /**
     * Restores the meter from the latest snapshot and its journal, with the incident state from
     * the ledger, then starts a new generation (a fresh snapshot) and tracks changes from here.
     */
    public static WindowStore open(Path dataDir, Meter meter, Clock clock, List<Meter.RestoredIncidents> incidents,
            List<Incident> finals) throws IOException {
        long t0 = System.nanoTime();
        WindowStore s = new WindowStore(dataDir.resolve("windows"), meter, clock);
        Files.createDirectories(s.dir);
        Map<String, NavigableMap<Long, long[]>> buckets = new HashMap<>();
        long g = latestSnapshot(s.dir);
        long count = 0;
        if (g >= 0) {
            count += readSnapshot(s.dir.resolve("snapshot-" + g + ".tsv"), buckets);
        }
        JournalRead j = readJournal(s.dir.resolve("journal-" + Math.max(g, 0) + ".log"), buckets);
        count += j.lines;
        meter.restore(buckets, incidents, finals);
        meter.trackChanges();
        s.generation = Math.max(g, 0);
        s.lastFlushMillis = clock.millis();
        s.snapshot();
        Restored r = new Restored(buckets.size(), count, j.batches, j.torn, (System.nanoTime() - t0) / 1_000_000);
        s.restored = r;
        if (g >= 0 || j.batches > 0) {
            log.info("windows restored: {} entities, {} bucket lines, {} journal batches{} in {} ms", r.entities(), count, j.batches,
                    j.torn ? " (a batch cut short by a crash dropped)" : "", r.millis());
        }
        return s;
    }

    private Restored restored;

    public Restored restored() {
        return restored;
    }

    /** Writes the counts recorded since the last flush as one batch, and fsyncs it. */
    public synchronized void flush() throws IOException {
        long now = clock.millis();
        StringBuilder lines = new StringBuilder();
        int[] n = new int[1];
        meter.drainChanges(lastFlushMillis, (id, t, p, r) -> {
            line(lines, id, t, p, r);
            n[0]++;
        });
        lastFlushMillis = now;
        if (n[0] == 0) {
            return;
        }
        byte[] body = lines.toString().getBytes(StandardCharsets.UTF_8);
        CRC32 crc = new CRC32();
        crc.update(body);
        byte[] head = ("B\t" + n[0] + "\t" + Long.toHexString(crc.getValue()) + "\t" + now + "\n").getBytes(StandardCharsets.UTF_8);
        journal.write(java.nio.ByteBuffer.wrap(head));
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(body);
        while (b.hasRemaining()) {
            journal.write(b);
        }
        journal.force(false);
        batches++;
    }

    /** Writes a new snapshot of every bucket, starts its journal, and removes the older generation. */
    public synchronized void snapshot() throws IOException {
        long next = generation + 1;
        // the new journal first: what is recorded while the snapshot is read goes there too (absolute counts: no harm)
        FileChannel nextJournal = FileChannel.open(dir.resolve("journal-" + next + ".log"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        FileChannel old = journal;
        journal = nextJournal;
        if (old != null) {
            flushTo(old);
            old.close();
        }
        Path tmp = dir.resolve("snapshot-" + next + ".tmp");
        CRC32 crc = new CRC32();
        long[] lines = new long[1];
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
             BufferedWriter w = new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(ch), StandardCharsets.UTF_8), 1 << 16)) {
            StringBuilder sb = new StringBuilder(128);
            IOException[] failed = new IOException[1];
            meter.forEachBucket((id, t, p, r) -> {
                sb.setLength(0);
                line(sb, id, t, p, r);
                byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
                crc.update(bytes);
                lines[0]++;
                try {
                    w.write(sb.toString());
                } catch (IOException e) {
                    failed[0] = e;
                }
            });
            if (failed[0] != null) {
                throw failed[0];
            }
            w.write("END\t" + lines[0] + "\t" + Long.toHexString(crc.getValue()) + "\n");
            w.flush();
            ch.force(true);
        }
        Files.move(tmp, dir.resolve("snapshot-" + next + ".tsv"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        generation = next;
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                long g = generationOf(name);
                if (g >= 0 && g < next) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** The last changes into the journal that is being retired, so the new snapshot is not the only copy. */
    private void flushTo(FileChannel old) throws IOException {
        FileChannel keep = journal;
        journal = old;
        try {
            flush();
        } finally {
            journal = keep;
        }
    }

    public synchronized long batches() {
        return batches;
    }

    public synchronized long lastFlushMillis() {
        return lastFlushMillis;
    }

    @Override
    public synchronized void close() throws IOException {
        flush();
        snapshot();
        journal.close();
    }

    // ---- format -------------------------------------------------------------------------------

    private static void line(StringBuilder b, String id, long t, long p, long r) {
        escape(b, id);
        b.append('\t').append(t).append('\t').append(p).append('\t').append(r).append('\n');
    }

    private static void escape(StringBuilder b, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '\t' -> b.append("\\t");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                default -> b.append(c);
            }
        }
    }

    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char d = s.charAt(++i);
                b.append(d == 't' ? '\t' : d == 'n' ? '\n' : d == 'r' ? '\r' : d);
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static void keepLargest(Map<String, NavigableMap<Long, long[]>> buckets, String line) {
        int a = line.indexOf('\t');
        int b = line.indexOf('\t', a + 1);
        int c = line.indexOf('\t', b + 1);
        String id = unescape(line.substring(0, a));
        long t = Long.parseLong(line, b > 0 ? a + 1 : 0, b, 10);
        long p = Long.parseLong(line, b + 1, c, 10);
        long r = Long.parseLong(line, c + 1, line.length(), 10);
        long[] v = buckets.computeIfAbsent(id, k -> new TreeMap<>()).computeIfAbsent(t, k -> new long[2]);
        v[0] = Math.max(v[0], p);
        v[1] = Math.max(v[1], r);
    }

    private static long readSnapshot(Path file, Map<String, NavigableMap<Long, long[]>> buckets) throws IOException {
        List<String> lines = new ArrayList<>();
        CRC32 crc = new CRC32();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String l;
            while ((l = r.readLine()) != null) {
                if (l.startsWith("END\t")) {
                    String[] f = l.split("\t");
                    if (Long.parseLong(f[1]) != lines.size() || !Long.toHexString(crc.getValue()).equals(f[2])) {
                        throw new IOException(file + ": the snapshot does not match its check line; remove it to start from the journal");
                    }
                    for (String x : lines) {
                        keepLargest(buckets, x);
                    }
                    return lines.size();
                }
                crc.update((l + "\n").getBytes(StandardCharsets.UTF_8));
                lines.add(l);
            }
        }
        throw new IOException(file + ": the snapshot has no check line (incomplete)");
    }

    private record JournalRead(int batches, long lines, boolean torn) {
    }

    private static JournalRead readJournal(Path file, Map<String, NavigableMap<Long, long[]>> buckets) throws IOException {
        if (!Files.exists(file)) {
            return new JournalRead(0, 0, false);
        }
        int batches = 0;
        long count = 0;
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String head;
            while ((head = r.readLine()) != null) {
                String[] f = head.split("\t");
                if (f.length != 4 || !f[0].equals("B")) {
                    return new JournalRead(batches, count, true);
                }
                int n = Integer.parseInt(f[1]);
                List<String> lines = new ArrayList<>(n);
                CRC32 crc = new CRC32();
                for (int i = 0; i < n; i++) {
                    String l = r.readLine();
                    if (l == null) {
                        return new JournalRead(batches, count, true);
                    }
                    crc.update((l + "\n").getBytes(StandardCharsets.UTF_8));
                    lines.add(l);
                }
                if (!Long.toHexString(crc.getValue()).equals(f[2])) {
                    return new JournalRead(batches, count, true);
                }
                for (String l : lines) {
                    keepLargest(buckets, l);
                }
                count += n;
                batches++;
            }
        } catch (java.nio.charset.MalformedInputException | NumberFormatException e) {
            return new JournalRead(batches, count, true);
        }
        return new JournalRead(batches, count, false);
    }

    private static long latestSnapshot(Path dir) throws IOException {
        long best = -1;
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith("snapshot-") && name.endsWith(".tsv")) {
                    best = Math.max(best, generationOf(name));
                }
            }
        }
        return best;
    }

    private static long generationOf(String name) {
        int dash = name.indexOf('-');
        int dot = name.indexOf('.');
        if (dash < 0 || dot < dash || !(name.startsWith("snapshot-") || name.startsWith("journal-"))) {
            return -1;
        }
        try {
            return Long.parseLong(name.substring(dash + 1, dot));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
