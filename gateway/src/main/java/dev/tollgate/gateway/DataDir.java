package dev.tollgate.gateway;

import dev.tollgate.meter.ledger.Ledger;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

/**
 * One owner per data directory: an exclusive OS lock on {@code <dataDir>/tollgate.lock}, taken
 * before anything in the directory is read or written and held until the gateway stops (the OS
 * releases it when the process dies, {@code kill -9} included). The file holds the owner's pid, so
 * that a second gateway can name it. The directory and everything the gateway keeps in it are
 * private to the owner (directories 0700, files 0600) where the file system has POSIX modes.
 *
 * <p>Threads: acquired and released by the thread that starts and stops the gateway.
 */
final class DataDir implements AutoCloseable {
    static final String LOCK_FILE = "tollgate.lock";

    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private DataDir(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock of {@code dir} (creating it, private, if needed).
     *
     * @throws IOException with a one-line message naming the directory and the holder's pid if
     *         another process (or another gateway in this one) owns it
     */
    static DataDir lock(Path dir) throws IOException {
        Path file = dir.resolve(LOCK_FILE);
        try {
            Ledger.createPrivateDirectory(dir);
            Ledger.createPrivateFile(file);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new IOException("dataDir: " + dir + ": " + e.getFile() + " exists and is not a directory"
                    + " (expected: a directory this user can create, or owns, and write)", e);
        } catch (java.nio.file.AccessDeniedException e) {
            throw new IOException("dataDir: " + dir + ": permission denied on " + e.getFile()
                    + " (expected: a directory this user can create, or owns, and write)", e);
        } catch (IOException e) {
            throw new IOException("dataDir: " + dir + ": cannot be used: " + e
                    + " (expected: a directory this user can create, or owns, and write)", e);
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null; // held by another gateway in this very process
        } catch (IOException e) {
            ch.close();
            throw new IOException("dataDir: " + dir + ": cannot lock " + file + ": " + e.getMessage(), e);
        }
        if (l == null) {
            String holder = holder(ch);
            ch.close();
            throw new IOException("dataDir: " + dir + " is in use by another Tollgate gateway (pid " + holder
                    + "); a data directory has one owner: stop that gateway first or give this one another dataDir");
        }
        byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8);
        ch.truncate(0);
        ch.write(ByteBuffer.wrap(pid), 0);
        ch.force(true);
        return new DataDir(dir, ch, l);
    }

    private static String holder(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            ch.read(b, 0);
            String s = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).trim();
            return s.isEmpty() ? "unknown" : s;
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * Makes the directory tree private to its owner: every directory 0700, every file 0600
     * (including files that an older version or another tool left readable).
     */
    void makePrivate() throws IOException {
        if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir, 3)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                if (Files.isSymbolicLink(p)) {
                    continue;
                }
                try {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwx------" : "rw-------"));
                } catch (java.nio.file.NoSuchFileException gone) {
                    // removed meanwhile (a rotated journal)
                }
            }
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause(); // a file removed while walking (a rotated journal): the next pass takes the rest
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
