package dev.tollgate.meter.ledger;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A ledger {@link Ledger.Disk} around the real file that a test can make fail like a full disk
 * (after writing part of the bytes, as a real short write does) or hold at its fsync; it notes
 * the threads that fsync.
 */
public final class ControlledDisk implements Ledger.Disk {
    private final Ledger.Disk real;
    public volatile boolean full;
    /** While set, each fsync waits until the latch is released. */
    public volatile CountDownLatch hold;
    public final AtomicInteger forces = new AtomicInteger();
    public final AtomicInteger writes = new AtomicInteger();
    public final AtomicInteger failedWrites = new AtomicInteger();
    public final Set<String> forcingThreads = ConcurrentHashMap.newKeySet();
    /** Counts down when a write reaches the disk (held or not). */
    public volatile CountDownLatch reached = new CountDownLatch(1);

    public ControlledDisk(Ledger.Disk real) {
        this.real = real;
    }

    @Override
    public void write(ByteBuffer bytes, long at) throws IOException {
        writes.incrementAndGet();
        reached.countDown();
        if (full) {
            failedWrites.incrementAndGet();
            // a real full disk takes part of a write before it refuses the rest
            ByteBuffer part = bytes.duplicate();
            part.limit(part.position() + part.remaining() / 2);
            real.write(part, at);
            throw new IOException("No space left on device");
        }
        real.write(bytes, at);
    }

    @Override
    public void force() throws IOException {
        forcingThreads.add(Thread.currentThread().getName());
        CountDownLatch h = hold;
        if (h != null) {
            try {
                h.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
        forces.incrementAndGet();
        real.force();
    }

    @Override
    public void truncate(long size) throws IOException {
        real.truncate(size);
    }
}
