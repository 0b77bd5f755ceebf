package dev.tollgate.meter.ledger;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The append-only, hash-chained ledger (SPEC §6): {@code <dataDir>/ledger/ledger.jsonl}, one
 * record per line (see {@link Chain} for the format), private to its owner (directory 0700, file
 * 0600).
 *
 * <h2>Opening: evidence is never repaired away</h2>
 * At open the file is checked from its first record. Only bytes after the last newline are a torn
 * write (a crash during the write of the last record, which was therefore never reported): they are
 * moved to {@code ledger.jsonl.torn-<millis>} and the file truncated after the last newline. A
 * complete line (one that ends with its newline) that is not a sound record — anywhere, the last
 * one included — is tampering or corruption: {@link #open} refuses with {@link BrokenLedgerException}
 * (path, line, record, why), writes nothing and truncates nothing; {@code tollgate verify-ledger}
 * shows the same break.
 *
 * <h2>Threads: who writes, who reads, what publishes what</h2>
 * One thread, {@code tollgate-ledger}, owned by the ledger, does every write and every fsync;
 * no caller's thread (never a Netty event loop) touches the file. Callers {@link #submit} a record
 * (type, fields; its time is taken at the call) into a FIFO queue under the object's monitor and
 * get a future that completes once the record is durable. The thread takes everything queued,
 * assigns sequence numbers and {@code prev} hashes in queue order, writes the batch with one write
 * and one fsync (group commit) and only then completes the futures; their completion is what
 * publishes a record (callers make an event visible from that completion). {@code seq},
 * {@code prev} and {@code size} are confined to the thread; {@link #head()}, {@link #pending()}
 * and {@link #failing()} are volatile snapshots for any reader.
 *
 * <h2>A full disk loses nothing</h2>
 * A batch whose write or fsync fails is truncated back to the last sound record (so no partial
 * record ever stays where later ones follow), stays at the head of the queue in order, and is
 * retried every second ({@link #RETRY_MILLIS}); the ledger reports itself {@link #failing()} from
 * the failure until the whole backlog is written. At {@link #close()} the queue is written once
 * more; records that still cannot be written are logged in full (they are lost with the process;
 * they were never reported as durable).
 */
public final class Ledger implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Ledger.class);
    public static final String FILE = "ledger.jsonl";
    /** How long a failing ledger waits before it tries its backlog again. */
    public static final long RETRY_MILLIS = 1000;
    /** Members the ledger writes itself; a caller's fields of these names are not taken. */
    private static final java.util.Set<String> RESERVED = java.util.Set.of("seq", "time", "type", "prev", "hash");

    /**
     * Where the ledger's bytes go: the file's channel, or in a test a stand-in around it that fails
     * or holds a write on demand. Called by the ledger thread only.
     */
    public interface Disk {
        /** Writes all of {@code bytes} at offset {@code at}. */
        void write(ByteBuffer bytes, long at) throws IOException;

        /** Makes what was written durable (fsync). */
        void force() throws IOException;

        /** Cuts the file back to {@code size} bytes and makes that durable. */
        void truncate(long size) throws IOException;
    }

    /** The ledger file holds a complete record that is not sound: it is evidence, not a torn write. */
    public static final class BrokenLedgerException extends IOException {
        private static final long serialVersionUID = 1L;

        BrokenLedgerException(String message) {
            super(message);
        }
    }

    private final Path file;
    private final Clock clock;
    private final FileChannel channel;
    private final Disk disk;
    private final int recoveredTornRecords;
    private final Thread thread;
    private final AtomicLong failures = new AtomicLong();
    private volatile boolean failing;
    private volatile LedgerHead head;
    private volatile int pendingCount;
    // guarded by this
    private final ArrayDeque<Entry> queue = new ArrayDeque<>();
    private boolean closing;
    /** Records ever queued, and records whose write completed (durable, callbacks run) or was abandoned. */
    private long submitted;
    private long settled;
    // confined to the ledger thread (and to open, before the thread starts)
    private long seq;
    private String prev;
    private long size;
    private boolean dirtyTail;
    /** The records of the last batch {@link #write} made durable. */
    private final List<LedgerRecord> written = new ArrayList<>();
    private long lastFailureLog;

    /** A record waiting for the ledger thread. */
    private static final class Entry {
        final String type;
        final ObjectNode fields;
        final long millis;
        final CompletableFuture<LedgerRecord> durable = new CompletableFuture<>();
        /** Completes with the record, or exceptionally when the first attempt to write it failed. */
        final CompletableFuture<LedgerRecord> firstAttempt = new CompletableFuture<>();

        Entry(String type, ObjectNode fields, long millis) {
            this.type = type;
            this.fields = fields;
            this.millis = millis;
        }
    }

    private Ledger(Path file, Clock clock, FileChannel channel, UnaryOperator<Disk> seam, long seq, String prev, long size, int torn) {
        this.file = file;
        this.clock = clock;
        this.channel = channel;
        this.disk = seam.apply(new ChannelDisk(channel));
        this.seq = seq;
        this.prev = prev;
        this.size = size;
        this.recoveredTornRecords = torn;
        this.head = new LedgerHead(seq, prev);
        this.thread = new Thread(this::run, "tollgate-ledger");
        thread.setDaemon(true);
    }

    public static Path fileIn(Path dataDir) {
        return dataDir.resolve("ledger").resolve(FILE);
    }

    /** Opens (creating if needed) the ledger of {@code dataDir}; see {@link #open(Path, Clock, UnaryOperator)}. */
    public static Ledger open(Path dataDir, Clock clock) throws IOException {
        return open(dataDir, clock, UnaryOperator.identity());
    }

    /**
     * Opens (creating if needed) the ledger of {@code dataDir}, setting aside a torn tail, and starts
     * its thread; {@code seam} wraps the file's {@link Disk} (tests inject failures there).
     *
     * @throws BrokenLedgerException if a complete record is not sound (nothing is written then)
     */
    public static Ledger open(Path dataDir, Clock clock, UnaryOperator<Disk> seam) throws IOException {
        Path file = fileIn(dataDir);
        createPrivateDirectory(file.getParent());
        LedgerVerification v = LedgerVerification.of(file);
        if (v.badLine() > 0) {
            throw new BrokenLedgerException("ledger " + file + ": line " + v.badLine() + " (record " + (v.records().size() + 1)
                    + ") is a complete record that is not sound: " + v.reason() + "; the gateway will not write after it and "
                    + "repairs nothing (keep the file as evidence); tollgate verify-ledger --data-dir " + dataDir + " shows it");
        }
        int torn = 0;
        if (v.tornTail().length > 0) {
            torn = 1;
            setAside(file, v.tornTail(), clock);
        }
        boolean created = !Files.exists(file);
        if (created) {
            createPrivateFile(file);
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ);
        if (v.goodBytes() < ch.size()) {
            ch.truncate(v.goodBytes());
            ch.force(true);
        }
        Ledger ledger = new Ledger(file, clock, ch, seam, v.records().size(), v.lastHash(), ch.size(), torn);
        ledger.thread.start();
        log.info("ledger {}: {} records, head {}{}", file, v.records().size(), v.lastHash(),
                torn > 0 ? "; a torn last record set aside" : "");
        return ledger;
    }

    private static void setAside(Path file, byte[] tail, Clock clock) throws IOException {
        Path aside = file.resolveSibling(FILE + ".torn-" + clock.millis());
        createPrivateFile(aside);
        Files.write(aside, tail);
        log.warn("ledger {}: the last record was cut short ({} bytes without their newline: a crash during its write); set aside in {}",
                file, tail.length, aside);
    }

    /** Creates {@code dir} (and its parents) if missing and makes it private to its owner (0700) where the file system has POSIX modes. */
    public static void createPrivateDirectory(Path dir) throws IOException {
        Files.createDirectories(dir);
        if (posix()) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
    }

    /** Creates {@code file} if missing, private to its owner (0600), and makes an existing one 0600 too. */
    public static void createPrivateFile(Path file) throws IOException {
        if (posix()) {
            if (!Files.exists(file)) {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } else {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            }
        } else if (!Files.exists(file)) {
            Files.createFile(file);
        }
    }

    private static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }

    /**
     * Queues a record of {@code type} with {@code fields} (its time is now) for the ledger thread
     * and returns at once, without waiting for any I/O.
     *
     * @return a future completed with the record once it is durable (written and fsynced); it
     *         completes exceptionally only if the ledger closed before it could be written
     */
    public CompletableFuture<LedgerRecord> submit(String type, ObjectNode fields) {
        return enqueue(List.of(new Entry(type, fields, clock.millis()))).get(0).durable;
    }

    /**
     * Queues records that belong together (a flag and its provisional period) so that they follow
     * each other in the chain and go to disk in the same write: both or neither.
     *
     * @return a future completed once all are durable, with the records in order
     */
    public CompletableFuture<List<LedgerRecord>> submitAll(List<String> types, List<ObjectNode> fields) {
        long now = clock.millis();
        List<Entry> es = new ArrayList<>();
        for (int i = 0; i < types.size(); i++) {
            es.add(new Entry(types.get(i), fields.get(i), now));
        }
        enqueue(es);
        CompletableFuture<?>[] all = es.stream().map(e -> e.durable).toArray(CompletableFuture[]::new);
        return CompletableFuture.allOf(all).thenApply(x -> es.stream().map(e -> e.durable.join()).toList());
    }

    private List<Entry> enqueue(List<Entry> es) {
        synchronized (this) {
            if (closing) {
                IOException closed = new IOException("ledger " + file + " is closed");
                es.forEach(e -> {
                    e.firstAttempt.completeExceptionally(closed);
                    e.durable.completeExceptionally(closed);
                });
                return es;
            }
            queue.addAll(es);
            submitted += es.size();
            pendingCount = queue.size();
            notifyAll();
        }
        return es;
    }

    /**
     * Appends a record and waits for the ledger thread's first attempt to write it: the caller's
     * way to append and wait.
     *
     * @return the record, durable
     * @throws UncheckedIOException if that attempt failed (full disk); the record then stays queued
     *         and is written, in order, once the disk takes it again — or if the ledger is closed
     */
    public LedgerRecord append(String type, ObjectNode fields) {
        if (Thread.currentThread() == thread) {
            throw new IllegalStateException("Ledger.append on the ledger thread would wait for itself: use submit");
        }
        Entry e = enqueue(List.of(new Entry(type, fields, clock.millis()))).get(0);
        try {
            return e.firstAttempt.join();
        } catch (CompletionException ce) {
            Throwable c = ce.getCause();
            throw c instanceof IOException io ? new UncheckedIOException(io) : new UncheckedIOException(new IOException(c));
        }
    }

    /**
     * Waits until every record queued before this call is durable and the callbacks attached to
     * its future have run (or it was given up at close).
     *
     * @return false if that did not happen within {@code timeoutMillis} (a full disk)
     */
    public synchronized boolean awaitWritten(long timeoutMillis) throws InterruptedException {
        long target = submitted;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (settled < target) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }

    private void run() {
        for (;;) {
            List<Entry> batch;
            synchronized (this) {
                while (queue.isEmpty() && !closing) {
                    waitQuietly(0);
                }
                if (queue.isEmpty()) {
                    return;
                }
                batch = new ArrayList<>(queue);
            }
            IOException failure = write(batch);
            synchronized (this) {
                if (failure == null) {
                    for (int i = 0; i < batch.size(); i++) {
                        queue.removeFirst();
                    }
                }
                failing = failure != null;
                pendingCount = queue.size();
            }
            if (failure == null) {
                publish(batch, written); // after the state above: whoever sees the record sees the ledger caught up
                synchronized (this) {
                    settled += batch.size();
                    notifyAll();
                }
                continue;
            }
            for (Entry e : batch) {
                e.firstAttempt.completeExceptionally(failure);
            }
            boolean stop;
            synchronized (this) {
                if (!closing) {
                    waitQuietly(RETRY_MILLIS); // a new record wakes it early: it is retried with the backlog
                }
                stop = closing;
            }
            if (stop) {
                List<Entry> last = queueCopy();
                if (write(last) == null) {
                    synchronized (this) {
                        queue.clear();
                        failing = false;
                        pendingCount = 0;
                    }
                    publish(last, written);
                    synchronized (this) {
                        settled += last.size();
                        notifyAll();
                    }
                    return;
                }
                abandon();
                return;
            }
        }
    }

    private synchronized List<Entry> queueCopy() {
        return new ArrayList<>(queue);
    }

    /** At close with a disk that still fails: the records are lost with the process; say so, in full. */
    private void abandon() {
        List<Entry> lost;
        synchronized (this) {
            lost = new ArrayList<>(queue);
            queue.clear();
            pendingCount = 0;
            settled += lost.size();
            notifyAll();
        }
        log.error("ledger {}: {} records could not be written before the gateway stopped; they were never reported as durable "
                + "and are lost with this process; here they are, in order:", file, lost.size());
        IOException gone = new IOException("ledger " + file + " closed with the record unwritten");
        for (Entry e : lost) {
            log.error("ledger {}: unwritten {} record at {}: {}", file, e.type, Instant.ofEpochMilli(e.millis), e.fields);
            e.firstAttempt.completeExceptionally(gone);
            e.durable.completeExceptionally(gone);
        }
    }

    private void waitQuietly(long millis) {
        try {
            wait(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closing = true;
        }
    }

    /** Writes {@code batch} with one write and one fsync; null when durable, else the failure (and nothing of it stays). */
    private IOException write(List<Entry> batch) {
        long s = seq;
        String p = prev;
        List<LedgerRecord> records = new ArrayList<>(batch.size());
        StringBuilder text = new StringBuilder();
        for (Entry e : batch) {
            // seq, time and type first, then the fields, then prev: the order a reader expects
            ObjectNode body = Chain.JSON.createObjectNode();
            body.put("seq", ++s);
            body.put("time", Instant.ofEpochMilli(e.millis).toString());
            body.put("type", e.type);
            e.fields.fields().forEachRemaining(f -> {
                if (!RESERVED.contains(f.getKey())) {
                    body.set(f.getKey(), f.getValue());
                }
            });
            body.put("prev", p);
            String line = Chain.seal(body);
            p = line.substring(line.length() - 66, line.length() - 2);
            records.add(new LedgerRecord(s, e.type, body.path("time").asText(), body, p));
            text.append(line).append('\n');
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        try {
            if (dirtyTail) {
                disk.truncate(size);
                dirtyTail = false;
            }
            disk.write(ByteBuffer.wrap(bytes), size);
            disk.force();
        } catch (IOException e) {
            failures.incrementAndGet();
            try {
                disk.truncate(size);
            } catch (IOException again) {
                dirtyTail = true;
                e.addSuppressed(again);
            }
            long now = System.nanoTime();
            if (!failing || now - lastFailureLog > TimeUnit.MINUTES.toNanos(1)) {
                lastFailureLog = now; // once per episode, then at most once a minute
                log.error("ledger {}: could not write {} record(s) ({}): {}; they stay queued, in order, and are retried every second",
                        file, batch.size(), batch.get(0).type + (batch.size() > 1 ? ", …" : ""), e.toString());
            }
            return e;
        }
        if (failing) {
            log.info("ledger {}: the disk takes records again; {} queued record(s) written", file, batch.size());
        }
        size += bytes.length;
        seq = s;
        prev = p;
        head = new LedgerHead(s, p);
        written.clear();
        written.addAll(records);
        return null;
    }

    /** Completes the futures of a durable batch: what makes its records visible to their callers. */
    private static void publish(List<Entry> batch, List<LedgerRecord> records) {
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).firstAttempt.complete(records.get(i));
            batch.get(i).durable.complete(records.get(i));
        }
    }

    /** Every sound record, read back from the file. */
    public List<LedgerRecord> records() throws IOException {
        return LedgerVerification.of(file).records();
    }

    public Path file() {
        return file;
    }

    /** Durable records in the file. */
    public long size() {
        return head.records();
    }

    /** The durable head: record count and hash of the last durable record. */
    public LedgerHead head() {
        return head;
    }

    /** Records queued and not yet durable (the backlog of a failing disk included). */
    public int pending() {
        return pendingCount;
    }

    /** True from a failed write until the whole backlog is written. */
    public boolean failing() {
        return failing;
    }

    /** Write attempts that failed (each retry of a backlog counts). */
    public long failures() {
        return failures.get();
    }

    public int recoveredTornRecords() {
        return recoveredTornRecords;
    }

    /**
     * Writes what is queued (one more attempt if the disk fails) and stops the ledger thread;
     * records that still cannot be written are logged in full.
     */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            closing = true;
            notifyAll();
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            log.error("ledger {}: the ledger thread did not finish its writes within 30 s; closing the file anyway", file);
        }
        channel.close();
    }

    /** The file itself. */
    private static final class ChannelDisk implements Disk {
        private final FileChannel ch;

        ChannelDisk(FileChannel ch) {
            this.ch = ch;
        }

        @Override
        public void write(ByteBuffer bytes, long at) throws IOException {
            long pos = at;
            while (bytes.hasRemaining()) {
                pos += ch.write(bytes, pos);
            }
        }

        @Override
        public void force() throws IOException {
            ch.force(false);
        }

        @Override
        public void truncate(long size) throws IOException {
            if (ch.size() > size) {
                ch.truncate(size);
            }
            ch.force(true);
        }
    }
}
