package dev.tollgate.meter.persist;

import dev.tollgate.meter.Incident;
import dev.tollgate.meter.Meter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
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
 *   <li>{@code snapshot-<g>.tsv} ({@link SnapshotFile}): every bucket, whole or absent.</li>
 *   <li>{@code journal-<g>.log} ({@link Journal}): batches of changed buckets; journal {@code g}
 *       is opened before snapshot {@code g} reads the meter, so snapshot {@code g} and the journals
 *       {@code ≥ g} hold every count. Restoring reads the newest snapshot and every journal from
 *       its generation on.</li>
 * </ul>
 * Lines hold a bucket's <em>absolute</em> counts, and restoring keeps the largest value seen for a
 * bucket (counts only grow): replaying a line twice, or a snapshot and a journal that overlap,
 * never counts anything twice.
 *
 * <h2>Disk faults (a full disk)</h2>
 * <ul>
 *   <li>A journal write that fails is cut back to the end of the last whole batch, so no partial
 *       batch ever lies where a later one follows; restoring drops only a torn <em>tail</em> and
 *       skips, never stops at, damage that good batches follow ({@link JournalReader}).</li>
 *   <li>The drained counts of a failed write stay in {@link PendingCounts} and are written first,
 *       in order, by the next flush that can; counts drained meanwhile join them. Since lines are
 *       absolute, holding an entity's newest counts instead of re-queuing each old line is enough:
 *       the newest line of a bucket says everything the older ones said.</li>
 *   <li>A snapshot that fails keeps the previous snapshot and every journal (it removes only its
 *       own temporary file); the journal goes on in the new generation it opened.</li>
 *   <li>{@link #failing()} is true from a failed journal write until the pending counts are
 *       written, {@link #pendingEntities()} says how many entities wait: the gateway's readiness
 *       and metrics read both, and the journal thread retries every second.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * One thread writes (the gateway's journal thread; the opener and the closer before and after
 * it): {@link #flush}, {@link #snapshot} and {@link #close} are synchronized and own every
 * non-volatile field. The volatile fields ({@code failing}, {@code pendingEntities},
 * {@code batches}, {@code lastFlushMillis}) are written under that lock and read by any thread
 * (metrics, readiness) without it, so a long snapshot never blocks a scrape.
 */
public final class WindowStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WindowStore.class);
    /** Lines per journal batch at most (a backlog after a long full-disk episode is written in several). */
    static final int MAX_BATCH_LINES = 65_536;

    private final Path dir;
    private final Meter meter;
    /** The entities recorded since the journal's last drain; from the restore on. */
    private final dev.tollgate.meter.ChangeFeed changes;
    private final Clock clock;
    private final Disk disk;
    private final PendingCounts pending = new PendingCounts();
    // guarded by this
    private long journalGeneration;
    private Journal journal;
    private long drainedToMillis;
    private long failingSinceMillis;
    private Restored restored;
    private boolean closed;
    // written under this, read by any thread
    private volatile boolean failing;
    private volatile int pendingEntities;
    private volatile long batches;
    private volatile long lastFlushMillis;
    /** When the last snapshot was whole on disk (epoch milliseconds); 0 before the first one of this process. */
    private volatile long lastSnapshotMillis;

    private WindowStore(Path dir, Meter meter, Clock clock, Disk disk) {
        this.dir = dir;
        this.meter = meter;
        this.changes = meter.changeFeed(); // the restore's own records are cleared from it
        this.clock = clock;
        this.disk = disk;
    }

    /**
     * What {@link #open} found and restored: entities, bucket lines, whole journal batches, whether
     * a journal ended in a batch cut short by a crash (dropped), and damaged regions skipped
     * before later good batches (kept).
     */
    public record Restored(int entities, long buckets, int journalBatches, boolean droppedTornBatch, int skippedDamage, long millis) {
    }

    /**
     * Restores the meter from the latest snapshot and its journals, with the incident state from
     * the ledger, then starts a new generation (a fresh snapshot) and tracks changes from here.
     */
    public static WindowStore open(Path dataDir, Meter meter, Clock clock, List<Meter.RestoredIncidents> incidents,
            List<Incident> finals) throws IOException {
        return open(dataDir, meter, clock, incidents, finals, Disk.REAL);
    }

    static WindowStore open(Path dataDir, Meter meter, Clock clock, List<Meter.RestoredIncidents> incidents, List<Incident> finals,
            Disk disk) throws IOException {
        long t0 = System.nanoTime();
        WindowStore s = new WindowStore(dataDir.resolve("windows"), meter, clock, disk);
        Files.createDirectories(s.dir);
        Map<String, NavigableMap<Long, long[]>> buckets = new HashMap<>();
        long snapshot = -1;
        long newest = -1;
        TreeMap<Long, Path> journals = new TreeMap<>();
        try (var files = Files.list(s.dir)) {
            for (Path p : files.toList()) {
                String name = p.getFileName().toString();
                long g = generationOf(name);
                if (g < 0) {
                    continue;
                }
                if (name.endsWith(".tmp")) {
                    Files.deleteIfExists(p); // a snapshot a crash or a full disk cut short
                    continue;
                }
                newest = Math.max(newest, g);
                if (name.startsWith("snapshot-")) {
                    snapshot = Math.max(snapshot, g);
                } else {
                    journals.put(g, p);
                }
            }
        }
        long count = 0;
        if (snapshot >= 0) {
            count += SnapshotFile.read(SnapshotFile.path(s.dir, snapshot), buckets);
        }
        JournalReader.Read j = JournalReader.NOTHING;
        for (Path p : journals.tailMap(Math.max(snapshot, 0), true).values()) {
            JournalReader.Read one = JournalReader.read(p, buckets);
            if (one.damagedRegions() > 0) {
                log.warn("{}: {} damaged region(s) between whole batches skipped; the batches after them were kept", p,
                        one.damagedRegions());
            }
            j = j.plus(one);
        }
        count += j.lines();
        meter.restore(buckets, incidents, finals);
        long now = clock.millis();
        s.drainedToMillis = now;
        s.lastFlushMillis = now;
        s.journalGeneration = newest + 1;
        synchronized (s) {
            try {
                s.journal = Journal.create(disk, s.journalPath(s.journalGeneration));
                s.writeSnapshot(s.journalGeneration);
            } catch (IOException e) {
                log.error("windows: could not start a new generation ({}); the snapshot and journals read stay, the journal retries "
                        + "every second", e.toString());
            }
        }
        Restored r = new Restored(buckets.size(), count, j.batches(), j.tornTail(), j.damagedRegions(),
                (System.nanoTime() - t0) / 1_000_000);
        s.restored = r;
        if (snapshot >= 0 || j.batches() > 0) {
            log.info("windows restored: {} entities, {} bucket lines, {} journal batches{} in {} ms", r.entities(), count, j.batches(),
                    j.tornTail() ? " (a batch cut short by a crash dropped)" : "", r.millis());
        }
        return s;
    }

    public Restored restored() {
        return restored;
    }

    /**
     * Writes the counts recorded since the last flush, after any still pending from a failed
     * write, as whole batches, each fsynced. On failure the counts stay pending, {@link #failing()}
     * turns true, and the exception is thrown; the next flush tries again.
     */
    public synchronized void flush() throws IOException {
        if (closed) {
            throw new IOException("the window store is closed");
        }
        long now = clock.millis();
        changes.drain(drainedToMillis, pending::add);
        drainedToMillis = now;
        try {
            writePending(now);
        } catch (IOException | RuntimeException e) {
            pendingEntities = pending.entities();
            if (!failing) {
                failing = true;
                failingSinceMillis = now;
                log.error("journal: cannot write ({}); the counts of {} entities are kept in memory and written as soon as the disk "
                        + "takes them; not ready until then", e.toString(), pending.entities());
            }
            throw e;
        }
        pendingEntities = 0;
        lastFlushMillis = now;
        if (failing) {
            failing = false;
            log.warn("journal: writing again after {} s; every pending count is written", (now - failingSinceMillis) / 1000);
        }
    }

    private void writePending(long now) throws IOException {
        if (journal == null) {
            journal = Journal.create(disk, journalPath(journalGeneration));
        }
        journal.repair();
        PendingCounts.Batch b;
        while ((b = pending.next(MAX_BATCH_LINES)) != null) {
            journal.append(encode(b, now));
            pending.written(b);
            batches++;
        }
    }

    private static byte[] encode(PendingCounts.Batch b, long now) {
        byte[] body = b.body().toString().getBytes(StandardCharsets.UTF_8);
        CRC32 crc = new CRC32();
        crc.update(body);
        byte[] head = ("B\t" + b.lines() + "\t" + Long.toHexString(crc.getValue()) + "\t" + now + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[head.length + body.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    /**
     * Starts a new generation: a new journal, the last changes into the old one (what fails stays
     * pending for the new one), then a snapshot of every bucket; once that snapshot is whole, the
     * older generations are removed. A snapshot that fails removes nothing but its temporary file.
     */
    public synchronized void snapshot() throws IOException {
        if (closed) {
            throw new IOException("the window store is closed");
        }
        long next = journalGeneration + 1;
        Journal fresh = Journal.create(disk, journalPath(next));
        if (journal != null) {
            try {
                flush();
            } catch (IOException e) {
                // kept pending: the new journal takes it
            }
            closeQuietly(journal);
        }
        journal = fresh;
        journalGeneration = next;
        writeSnapshot(next);
        lastSnapshotMillis = clock.millis();
    }

    private void writeSnapshot(long generation) throws IOException {
        SnapshotFile.write(disk, dir, generation, meter);
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                long g = generationOf(p.getFileName().toString());
                if (g >= 0 && g < generation) {
                    Files.deleteIfExists(p);
                }
            }
        }
        SnapshotFile.syncDirectory(dir);
    }

    /** Whether the journal's last write failed and counts wait in memory (see {@link #pendingEntities()}). */
    public boolean failing() {
        return failing;
    }

    /** Entities whose counts were drained from the meter and wait to be written (0 when the journal keeps up). */
    public int pendingEntities() {
        return pendingEntities;
    }

    /** Journal batches written. */
    public long batches() {
        return batches;
    }

    /** When the last snapshot of this process was whole on disk (epoch milliseconds); 0 before the first. */
    public long lastSnapshotMillis() {
        return lastSnapshotMillis;
    }

    /** When the journal last had every drained count written (epoch milliseconds). */
    public long lastFlushMillis() {
        return lastFlushMillis;
    }

    /**
     * A last snapshot (which also flushes the journal). When it cannot be written, the journal
     * alone must take the last counts; if that fails too, the exception says how many entities'
     * last counts are lost.
     */
    @Override
    public synchronized void close() throws IOException {
        try {
            snapshot();
        } catch (IOException e) {
            try {
                flush();
            } catch (IOException f) {
                throw new IOException("neither a snapshot nor the journal could be written at stop (" + e.getMessage()
                        + "): the last counts of " + pending.entities() + " entities are lost", f);
            }
            log.warn("windows: no snapshot at stop ({}); the journal holds every count", e.toString());
        } finally {
            closed = true;
            if (journal != null) {
                closeQuietly(journal);
                journal = null;
            }
        }
    }

    private Path journalPath(long generation) {
        return dir.resolve("journal-" + generation + ".log");
    }

    private static void closeQuietly(Journal j) {
        try {
            j.close();
        } catch (IOException e) {
            log.warn("journal: close failed: {}", e.toString());
        }
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
