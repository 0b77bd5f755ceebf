package dev.tollgate.cluster.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.ledger.Ledger;
import dev.tollgate.meter.ledger.LedgerRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalTailTest {
    @TempDir
    Path dir;

    private List<LedgerRecord> write(int n) throws IOException {
        try (Ledger l = Ledger.open(dir, new ManualClock(0))) {
            for (int i = 0; i < n; i++) {
                var f = TestRecords.other("gw", i);
                f.put("padding", "x".repeat(i * 13 % 300));
                l.append("start", f);
            }
            return l.records();
        }
    }

    @Test
    void next_readsEveryRecordOnceInOrder_acrossChunksSmallerThanARecord() throws Exception {
        List<LedgerRecord> written = write(60);
        LocalTail tail = new LocalTail(Ledger.fileIn(dir), 64);
        List<LedgerRecord> read = new ArrayList<>();
        for (List<LedgerRecord> batch = tail.next(60, 7); !batch.isEmpty(); batch = tail.next(60, 7)) {
            assertThat(batch.size()).isLessThanOrEqualTo(7);
            read.addAll(batch);
        }
        assertThat(read).extracting(LedgerRecord::hash).containsExactlyElementsOf(written.stream().map(LedgerRecord::hash).toList());
    }

    @Test
    void next_stopsAtTheDurableHead_andAtACutShortRecord() throws Exception {
        write(10);
        Files.writeString(Ledger.fileIn(dir), "{\"seq\":11,\"time\"", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        LocalTail tail = new LocalTail(Ledger.fileIn(dir));
        assertThat(tail.next(4, 100)).hasSize(4);
        assertThat(tail.next(11, 100)).extracting(LedgerRecord::seq).containsExactly(5L, 6L, 7L, 8L, 9L, 10L);
        assertThat(tail.next(11, 100)).isEmpty();
    }

    @Test
    void next_refusesAnAlteredRecord_namingIt() throws Exception {
        write(5);
        Path file = Ledger.fileIn(dir);
        Files.writeString(file, Files.readString(file).replace("/gw/2\"", "/gw/9\""));
        LocalTail tail = new LocalTail(file);
        assertThatThrownBy(() -> tail.next(5, 100)).hasMessageContaining("record 3").hasMessageContaining("altered");
    }
}
