package dev.tollgate.meter.persist;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.zip.CRC32;

/**
 * Fuzzes the readers that restore the windows at start: a journal file ({@link JournalReader})
 * and a snapshot file ({@link SnapshotFile#read}). So that the fuzzer gets past the checksums, a
 * journal header {@code B TAB n TAB * TAB millis} gets the CRC of the n lines after it, and a
 * snapshot line {@code END} becomes the check line of the lines before it. The journal reader
 * throws nothing and ends; the snapshot reader reads or refuses with an IOException saying why.
 */
class WindowFilesFuzzTest {
    private static final Path DIR = tempDir();

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void journal_anyContent_neverThrows(byte[] input) throws IOException {
        String[] lines = new String(input, StandardCharsets.UTF_8).split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String[] f = lines[i].split("\t", -1);
            if (f.length == 4 && f[0].equals("B") && f[2].equals("*") && f[1].matches("\\d{1,3}")) {
                CRC32 crc = new CRC32();
                int n = Integer.parseInt(f[1]);
                for (int k = i + 1; k <= i + n && k < lines.length; k++) {
                    crc.update((lines[k] + "\n").getBytes(StandardCharsets.UTF_8));
                }
                lines[i] = "B\t" + n + "\t" + Long.toHexString(crc.getValue()) + "\t" + f[3];
            }
        }
        byte[] bytes = String.join("\n", lines).getBytes(StandardCharsets.UTF_8);
        Path file = DIR.resolve("journal-1");
        Files.write(file, bytes);
        Map<String, NavigableMap<Long, long[]>> buckets = new HashMap<>();
        JournalReader.Read r = JournalReader.read(file, buckets);
        assertThat(r.lines()).isLessThanOrEqualTo(lines.length);
        assertThat(r.batches()).isLessThanOrEqualTo(lines.length);
    }

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void snapshot_anyContent_readOrRefused(byte[] input) throws IOException {
        String[] lines = new String(input, StandardCharsets.UTF_8).split("\n", -1);
        CRC32 crc = new CRC32();
        int count = 0;
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].equals("END")) {
                lines[i] = "END\t" + count + "\t" + Long.toHexString(crc.getValue());
            }
            crc.update((lines[i] + "\n").getBytes(StandardCharsets.UTF_8));
            count++;
        }
        Path file = DIR.resolve("snapshot-1");
        Files.write(file, String.join("\n", lines).getBytes(StandardCharsets.UTF_8));
        Map<String, NavigableMap<Long, long[]>> buckets = new HashMap<>();
        try {
            assertThat(SnapshotFile.read(file, buckets)).isBetween(0L, (long) lines.length);
        } catch (IOException e) {
            assertThat(e.getMessage()).contains("the window snapshot").doesNotContain("\n");
        }
    }

    private static Path tempDir() {
        try {
            Path d = Files.createTempDirectory("tollgate-windows-fuzz");
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
