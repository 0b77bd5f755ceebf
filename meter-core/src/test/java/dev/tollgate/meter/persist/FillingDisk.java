package dev.tollgate.meter.persist;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A disk that fills up, as a real one does: when a write needs more than the space left, it
 * writes what fits and the next write fails with "No space left on device". Truncation can be
 * made to fail too. Tests set the space left ({@link #fill}) and free it ({@link #free}).
 */
final class FillingDisk implements Disk {
    private final AtomicLong left = new AtomicLong(Long.MAX_VALUE);
    volatile boolean truncateFails;
    final AtomicLong failedWrites = new AtomicLong();

    /** From now on the disk takes {@code bytes} more bytes. */
    void fill(long bytes) {
        left.set(bytes);
    }

    void free() {
        left.set(Long.MAX_VALUE);
        truncateFails = false;
    }

    @Override
    public FileChannel open(Path file, OpenOption... options) throws IOException {
        return new Channel(FileChannel.open(file, options));
    }

    private int allowed(int wanted) throws IOException {
        while (true) {
            long l = left.get();
            if (l <= 0) {
                failedWrites.incrementAndGet();
                throw new IOException("No space left on device");
            }
            int n = (int) Math.min(wanted, l);
            if (left.compareAndSet(l, l == Long.MAX_VALUE ? l : l - n)) {
                return n;
            }
        }
    }

    private final class Channel extends FileChannel {
        private final FileChannel real;

        Channel(FileChannel real) {
            this.real = real;
        }

        private int write(ByteBuffer src, long at, boolean positional) throws IOException {
            if (!src.hasRemaining()) {
                return 0;
            }
            int n = allowed(src.remaining());
            ByteBuffer part = src.duplicate();
            part.limit(part.position() + n);
            int w = positional ? real.write(part, at) : real.write(part);
            src.position(src.position() + w);
            return w;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return write(src, -1, false);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            return write(src, position, true);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                total += write(srcs[i]);
            }
            return total;
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            if (truncateFails) {
                throw new IOException("I/O error (truncate)");
            }
            real.truncate(size);
            return this;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return real.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return real.read(dsts, offset, length);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return real.read(dst, position);
        }

        @Override
        public long position() throws IOException {
            return real.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            real.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return real.size();
        }

        @Override
        public void force(boolean metaData) throws IOException {
            real.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            throw new UnsupportedOperationException();
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            throw new UnsupportedOperationException();
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            throw new UnsupportedOperationException();
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return real.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return real.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            real.close();
        }
    }
}
