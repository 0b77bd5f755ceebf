package dev.tollgate.meter.persist;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.zip.CRC32;

/**
 * Reads one journal file back. A batch is a header {@code B TAB lines TAB crc32 TAB millis} and
 * its lines; a batch counts when all its lines are there and match the check. What does not
 * check is skipped line by line until the next batch that does: bytes that no whole batch
 * follows are the tail a crash cut short ({@link Read#tornTail}); damage that whole batches
 * follow ({@link Read#damagedRegions}) is skipped, never taken as the end of the journal, so no
 * good batch after it is ever lost. The writer never leaves such damage (it cuts a failed write
 * back), so a damaged region means the file was harmed from outside, and restoring says so.
 */
final class JournalReader {
    private JournalReader() {
    }

    /** Whole batches read, their lines, whether the file ends in a torn tail, and damaged regions skipped before later good batches. */
    record Read(int batches, long lines, boolean tornTail, int damagedRegions) {
        Read plus(Read o) {
            return new Read(batches + o.batches, lines + o.lines, tornTail || o.tornTail, damagedRegions + o.damagedRegions);
        }
    }

    static final Read NOTHING = new Read(0, 0, false, 0);

    static Read read(Path file, Map<String, NavigableMap<Long, long[]>> buckets) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            LineSource in = new LineSource(ch);
            int batches = 0;
            long lines = 0;
            int damaged = 0;
            boolean inDamage = false;
            while (true) {
                long at = in.offset();
                byte[] head = in.next();
                if (head == null) {
                    inDamage |= at < ch.size(); // a last line without its newline
                    break;
                }
                List<Lines.Bucket> batch = batch(head, in);
                if (batch == null) {
                    inDamage = true;
                    // look for the next batch: in this line (a batch the old writer appended right after a partial one), else from the next
                    int glued = gluedHeader(head);
                    in.seek(glued > 0 ? at + glued : at + head.length + 1);
                    continue;
                }
                if (inDamage) {
                    damaged++;
                    inDamage = false;
                }
                for (Lines.Bucket b : batch) {
                    b.keepLargestIn(buckets);
                }
                batches++;
                lines += batch.size();
            }
            return new Read(batches, lines, inDamage, damaged);
        }
    }

    /** Where in {@code line}, after its start, a batch header may begin ({@code B TAB}); -1 if nowhere. */
    private static int gluedHeader(byte[] line) {
        for (int i = 1; i + 1 < line.length; i++) {
            if (line[i] == 'B' && line[i + 1] == '\t') {
                return i;
            }
        }
        return -1;
    }

    /** The batch that starts with {@code head}, whole and checked; null when it is not one. */
    private static List<Lines.Bucket> batch(byte[] head, LineSource in) throws IOException {
        String[] f = new String(head, StandardCharsets.UTF_8).split("\t", -1);
        int n;
        long crcWanted;
        try {
            if (f.length != 4 || !f[0].equals("B")) {
                return null;
            }
            n = Integer.parseInt(f[1]);
            crcWanted = Long.parseLong(f[2], 16);
            Long.parseLong(f[3]);
        } catch (NumberFormatException e) {
            return null;
        }
        if (n <= 0) {
            return null;
        }
        CRC32 crc = new CRC32();
        List<Lines.Bucket> out = new ArrayList<>(Math.min(n, 1 << 16));
        List<String> text = new ArrayList<>(Math.min(n, 1 << 16));
        for (int i = 0; i < n; i++) {
            byte[] l = in.next();
            if (l == null) {
                return null;
            }
            crc.update(l);
            crc.update('\n');
            text.add(new String(l, StandardCharsets.UTF_8));
        }
        if (crc.getValue() != crcWanted) {
            return null;
        }
        try {
            for (String l : text) {
                out.add(Lines.parse(l));
            }
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
            return null;
        }
        return out;
    }

    /** Lines of a file by offset, without the newline; a last line without its newline is not a line. */
    private static final class LineSource {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        private long bufOffset; // file offset of buf[0]
        private int pos;
        private int lim;

        LineSource(FileChannel ch) {
            this.ch = ch;
        }

        long offset() {
            return bufOffset + pos;
        }

        void seek(long offset) {
            if (offset != offset()) {
                bufOffset = offset;
                pos = 0;
                lim = 0;
            }
        }

        byte[] next() throws IOException {
            byte[] a = buf.array();
            byte[] partial = null;
            int partialLen = 0;
            while (true) {
                for (int i = pos; i < lim; i++) {
                    if (a[i] == '\n') {
                        byte[] line;
                        if (partial == null) {
                            line = Arrays.copyOfRange(a, pos, i);
                        } else {
                            line = Arrays.copyOf(partial, partialLen + i - pos);
                            System.arraycopy(a, pos, line, partialLen, i - pos);
                        }
                        pos = i + 1;
                        return line;
                    }
                }
                // no newline in what is buffered: keep it and read on
                int rest = lim - pos;
                if (rest > 0) {
                    if (partial == null) {
                        partial = new byte[Math.max(256, rest * 2)];
                    } else if (partialLen + rest > partial.length) {
                        partial = Arrays.copyOf(partial, Math.max(partial.length * 2, partialLen + rest));
                    }
                    System.arraycopy(a, pos, partial, partialLen, rest);
                    partialLen += rest;
                }
                bufOffset += lim;
                pos = 0;
                lim = 0;
                buf.clear();
                int n = ch.read(buf, bufOffset);
                if (n <= 0) {
                    return null; // end of file: what was read is no whole line
                }
                lim = n;
            }
        }
    }
}
