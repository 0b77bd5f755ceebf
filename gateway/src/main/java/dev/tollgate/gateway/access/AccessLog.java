package dev.tollgate.gateway.access;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.util.internal.PlatformDependent;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access log: one JSON object per line for every request the proxy answered, forwarded,
 * blocked, refused or failed (format in the README).
 *
 * <p>Asynchronous, so that the request path never waits on a disk: event loops (many producers)
 * offer an {@link Entry} to a bounded lock-free MPSC queue and go on; one writer thread (the
 * single consumer) formats and writes the lines through a buffer and flushes whenever the queue
 * is empty. When the queue is full (the disk is slower than the traffic) the entry is dropped and
 * counted ({@link #dropped()}), never waited for. The writer's failures (a full disk) are counted
 * and logged at most once a minute; the proxy goes on. {@link #close()} writes what is queued.
 *
 * <p>The writer formats every line through one JSON generator of its own, kept for its lifetime
 * (a generator per line cost two fresh buffers of several KB each: more than half of all the bytes
 * the gateway allocated under load), and writes the time and the durations from reused character
 * buffers ({@link LineTimes}): a line allocates nothing. A generator left mid-line by a failed
 * write is replaced.
 */
public final class AccessLog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AccessLog.class);
    private static final JsonFactory JSON = new JsonFactory();

    /**
     * One answered request. Times in nanoseconds; {@code upstreamNanos} is -1 when the upstream
     * was not asked; {@code entity} null when none was resolved (a refused request).
     */
    public record Entry(long epochMillis, String client, String method, String target, int status, String outcome, String entity,
            long posts, long bytes, long upstreamNanos, long totalNanos) {
    }

    private final Queue<Entry> queue;
    private final OutputStream out;
    private final Thread writer;
    /** The writer thread's generator; replaced after a failure. */
    private JsonGenerator g;
    private final LineTimes times = new LineTimes();
    private final LongAdder written = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private volatile boolean closing;
    private long lastFailureLogNanos = Long.MIN_VALUE;

    private AccessLog(OutputStream out, int capacity) {
        this.queue = PlatformDependent.newFixedMpscQueue(capacity);
        this.out = new BufferedOutputStream(out, 64 * 1024);
        this.writer = new Thread(this::writeLoop, "tollgate-access-log");
        this.writer.setDaemon(true);
        this.writer.start();
    }

    /** An access log appending to {@code file} (created owner-only if missing). */
    public static AccessLog toFile(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        OutputStream o = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        return new AccessLog(o, 65_536);
    }

    /** An access log to {@code out} (standard output, or a test's stream); {@code out} is not closed. */
    public static AccessLog to(OutputStream out, int capacity) {
        return new AccessLog(new java.io.FilterOutputStream(out) {
            @Override
            public void close() throws IOException {
                flush();
            }
        }, capacity);
    }

    /** Queues one line; never blocks. Returns false (and counts it) when the queue is full. */
    public boolean log(Entry e) {
        if (closing || !queue.offer(e)) {
            dropped.increment();
            return false;
        }
        return true;
    }

    public long written() {
        return written.sum();
    }

    public long dropped() {
        return dropped.sum();
    }

    public long failures() {
        return failures.sum();
    }

    private void writeLoop() {
        while (true) {
            Entry e = queue.poll();
            if (e != null) {
                write(e);
                continue;
            }
            flush();
            if (closing && queue.isEmpty()) {
                return;
            }
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(2));
        }
    }

    private JsonGenerator generator() throws IOException {
        if (g == null) {
            g = JSON.createGenerator(out);
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.setRootValueSeparator(null); // lines are separated by the newline written after each
        }
        return g;
    }

    private void write(Entry e) {
        try {
            JsonGenerator g = generator();
            g.writeStartObject();
            g.writeFieldName("time");
            g.writeString(times.chars(), 0, times.instant(e.epochMillis()));
            g.writeStringField("client", e.client());
            g.writeStringField("method", e.method());
            g.writeStringField("target", e.target());
            g.writeNumberField("status", e.status());
            g.writeStringField("outcome", e.outcome());
            if (e.entity() == null) {
                g.writeNullField("entity");
            } else {
                g.writeStringField("entity", e.entity());
            }
            g.writeNumberField("posts", e.posts());
            g.writeNumberField("bytes", e.bytes());
            if (e.upstreamNanos() < 0) {
                g.writeNullField("upstreamTime");
            } else {
                g.writeFieldName("upstreamTime");
                g.writeNumber(times.chars(), 0, times.seconds(e.upstreamNanos()));
            }
            g.writeFieldName("totalTime");
            g.writeNumber(times.chars(), 0, times.seconds(e.totalNanos()));
            g.writeEndObject();
            g.writeRaw('\n');
            written.increment();
        } catch (IOException ex) {
            failed(ex);
        }
    }

    private void flush() {
        try {
            if (g != null) {
                g.flush(); // its buffer, then the file's
            } else {
                out.flush();
            }
        } catch (IOException ex) {
            failed(ex);
        }
    }

    private void failed(IOException ex) {
        g = null; // it may hold half a line: the next line starts on a fresh one
        failures.increment();
        long now = System.nanoTime();
        if (lastFailureLogNanos == Long.MIN_VALUE || now - lastFailureLogNanos > TimeUnit.MINUTES.toNanos(1)) {
            lastFailureLogNanos = now;
            log.error("access log: cannot write ({}); requests go on, lines are lost until it can ({} failures so far)", ex.toString(),
                    failures.sum());
        }
    }

    /** Writes every queued line, then closes the file. */
    @Override
    public void close() {
        closing = true;
        try {
            writer.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            out.close();
        } catch (IOException e) {
            failed(e);
        }
    }
}
