package dev.tollgate.meter.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzzes the ledger reader ({@link LedgerVerification#of}) on any file content. So that the fuzzer
 * gets past the hash chain, lines written as {@code {…}} are sealed as the writer would seal them
 * ({@code $PREV} and {@code $SEQ} stand for the previous record's hash and the expected sequence):
 * the reader must then judge the members, not only the hash. It throws nothing, ends, and
 * accounts for every byte (good records, a torn tail, or the first bad line).
 */
class LedgerReaderFuzzTest {
    private static final Path DIR = tempDir();

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void anyContent_readOrRefused_neverThrows(byte[] input) throws IOException {
        String[] lines = new String(input, StandardCharsets.UTF_8).split("\n", -1);
        StringBuilder file = new StringBuilder();
        String prev = Chain.GENESIS;
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i];
            if (l.startsWith("{") && l.endsWith("}")) {
                String body = l.replace("$PREV", prev).replace("$SEQ", Integer.toString(i + 1));
                String hash = Chain.sha256(body);
                l = body.substring(0, body.length() - 1) + ",\"hash\":\"" + hash + "\"}";
                prev = hash;
            }
            file.append(l).append(i + 1 < lines.length ? "\n" : "");
        }
        byte[] bytes = file.toString().getBytes(StandardCharsets.UTF_8);
        Path f = DIR.resolve("ledger.jsonl");
        Files.write(f, bytes);
        LedgerVerification v = LedgerVerification.of(f);
        assertThat(v.goodBytes()).isBetween(0L, (long) bytes.length);
        assertThat(v.records().size()).isLessThanOrEqualTo(lines.length);
        if (v.badLine() == 0) {
            assertThat(v.reason()).isNull();
            assertThat(v.goodBytes() + v.tornTail().length).isEqualTo(bytes.length);
            assertThat(v.head()).isNotNull();
        } else {
            assertThat(v.badLine()).isEqualTo(v.records().size() + 1);
            assertThat(v.reason()).isNotBlank().doesNotContain("\n");
        }
    }

    private static Path tempDir() {
        try {
            Path d = Files.createTempDirectory("tollgate-ledger-fuzz");
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
