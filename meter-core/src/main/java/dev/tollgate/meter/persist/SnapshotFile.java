package dev.tollgate.meter.persist;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.zip.CRC32;

/**
 * {@code snapshot-<g>.tsv}: every non-empty bucket of the last 48 hours, one line each, then
 * {@code END TAB lines TAB crc32}. Written to {@code snapshot-<g>.tmp}, fsynced, renamed and the
 * directory fsynced: a snapshot is whole or absent. A write that fails removes its temporary file
 * (on a full disk that gives the space back) and leaves everything else as it was.
 */
final class SnapshotFile {
    private SnapshotFile() {
    }

    static Path path(Path dir, long generation) {
        return dir.resolve("snapshot-" + generation + ".tsv");
    }

    /** Writes snapshot {@code generation} of every bucket of {@code meter}; its number of lines. */
    static long write(Disk disk, Path dir, long generation, Meter meter) throws IOException {
        Path tmp = dir.resolve("snapshot-" + generation + ".tmp");
        CRC32 crc = new CRC32();
        long[] lines = new long[1];
        try {
            try (FileChannel ch = disk.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
                 BufferedWriter w = new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(ch), StandardCharsets.UTF_8), 1 << 16)) {
                StringBuilder sb = new StringBuilder(128);
                IOException[] failed = new IOException[1];
                meter.forEachBucket((id, t, p, r) -> {
                    if (failed[0] != null) {
                        return;
                    }
                    sb.setLength(0);
                    Lines.line(sb, id, t, p, r);
                    String s = sb.toString();
                    crc.update(s.getBytes(StandardCharsets.UTF_8));
                    lines[0]++;
                    try {
                        w.write(s);
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
            Files.move(tmp, path(dir, generation), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException d) {
                e.addSuppressed(d);
            }
            throw e;
        }
        syncDirectory(dir);
        return lines[0];
    }

    /** Makes renames and removals in {@code dir} durable (where the platform can open a directory). */
    static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // not every platform opens directories; the rename is still atomic
        }
    }

    /**
     * Reads snapshot {@code file} into {@code buckets} (largest value per bucket); its number of
     * lines. A snapshot that does not check is refused: the gateway does not start rather than
     * lose the windows it holds.
     */
    static long read(Path file, Map<String, NavigableMap<Long, long[]>> buckets) throws IOException {
        List<String> lines = new ArrayList<>();
        CRC32 crc = new CRC32();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String l;
            while ((l = r.readLine()) != null) {
                if (l.startsWith("END\t")) {
                    String[] f = l.split("\t");
                    if (f.length != 3 || !f[1].equals(Integer.toString(lines.size())) || !Long.toHexString(crc.getValue()).equals(f[2])) {
                        throw refused(file, "does not match its check line");
                    }
                    try {
                        for (String x : lines) {
                            Lines.parse(x).keepLargestIn(buckets);
                        }
                    } catch (NumberFormatException | IndexOutOfBoundsException e) {
                        throw refused(file, "holds a line that is not a bucket");
                    }
                    return lines.size();
                }
                crc.update((l + "\n").getBytes(StandardCharsets.UTF_8));
                lines.add(l);
            }
        } catch (java.nio.charset.CharacterCodingException e) {
            throw refused(file, "is not UTF-8 text");
        }
        throw refused(file, "has no check line (it was cut short or changed)");
    }

    private static IOException refused(Path file, String what) {
        return new IOException(file + ": the window snapshot " + what + "; the gateway does not start rather than lose the"
                + " windows it holds. Keep the file (copy it for the record), check the disk and restore the file from a backup if"
                + " there is one; only if you accept losing the counts of the last 48 hours that it holds, move it (do not delete it)"
                + " out of the windows directory: the gateway then starts from the journals alone");
    }
}
