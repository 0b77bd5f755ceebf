package dev.tollgate.meter.persist;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One journal file being written. Batches go at {@link #end}, the end of the last whole batch, by
 * positional writes, and are fsynced; only then does {@code end} move past them. A write or fsync
 * that fails (a full disk writes part of the buffer, then fails with "No space left on device")
 * is cut back: the file is truncated to {@code end} and fsynced, so no partial batch ever stays
 * where a later batch would follow. When even the truncation fails the file is marked damaged and
 * nothing is appended until a later truncation succeeds; a crash meanwhile leaves the partial
 * batch as the file's tail, which restoring drops as a torn write.
 *
 * <p>Not thread-safe: only the store's writer, under the store's lock, uses it.
 */
final class Journal implements AutoCloseable {
    private final Path file;
    private final FileChannel channel;
    private long end;
    private boolean damaged;

    private Journal(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** A new, empty journal file (a new generation: nothing in it is kept), its name durable in the directory. */
    static Journal create(Disk disk, Path file) throws IOException {
        Journal j = new Journal(file, disk.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING));
        SnapshotFile.syncDirectory(file.getParent());
        return j;
    }

    /** Appends one whole batch and fsyncs it; on failure the file is as it was before (or marked damaged, see above). */
    void append(byte[] batch) throws IOException {
        if (damaged) {
            cutBack();
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(batch);
            long at = end;
            while (b.hasRemaining()) {
                int n = channel.write(b, at);
                if (n <= 0) {
                    throw new IOException(file + ": the disk took none of " + b.remaining() + " bytes");
                }
                at += n;
            }
            channel.force(false);
        } catch (IOException e) {
            try {
                cutBack();
            } catch (IOException t) {
                e.addSuppressed(t);
            }
            throw e;
        }
        end += batch.length;
    }

    /** When an earlier cut-back failed: tries it again (nothing to write this time). */
    void repair() throws IOException {
        if (damaged) {
            cutBack();
        }
    }

    private void cutBack() throws IOException {
        damaged = true;
        channel.truncate(end);
        channel.force(false);
        damaged = false;
    }

    /** Bytes of whole batches in the file. */
    long end() {
        return end;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
