package dev.tollgate.meter.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.meter.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LedgerTest {
    @TempDir
    Path dir;
    final ManualClock clock = new ManualClock(1_795_478_400_000L);

    static ObjectNode fields(int i) {
        return JsonNodeFactory.instance.objectNode().put("entity", "e" + i).put("posts", 1000L * i).put("note", "ünïcode, \"quotes\"");
    }

    Path write(int records) throws Exception {
        try (Ledger l = Ledger.open(dir, clock)) {
            for (int i = 1; i <= records; i++) {
                clock.advance(1000);
                LedgerRecord r = l.append("flag", fields(i));
                assertThat(r.seq()).isEqualTo(i);
            }
        }
        return Ledger.fileIn(dir);
    }

    @Test
    void appendedRecords_chain_andReadBack() throws Exception {
        Path file = write(5);
        LedgerVerification v = LedgerVerification.of(file);
        assertThat(v.ok()).isTrue();
        assertThat(v.records()).hasSize(5);
        assertThat(v.records().get(2).fields().path("entity").asText()).isEqualTo("e3");
        assertThat(v.records().get(2).fields().path("prev").asText()).isEqualTo(v.records().get(1).hash());
        assertThat(Files.readAllLines(file).get(0)).startsWith("{\"seq\":1,\"time\":\"2026-11-24T00:00:01Z\",\"type\":\"flag\",\"entity\":\"e1\"");
        // reopening continues the chain
        try (Ledger l = Ledger.open(dir, clock)) {
            assertThat(l.append("stop", JsonNodeFactory.instance.objectNode()).seq()).isEqualTo(6);
        }
        assertThat(LedgerVerification.of(file).records()).hasSize(6);
    }

    @Test
    void oneByteChanged_anywhere_isFound_andNamed() throws Exception {
        Path file = write(6);
        byte[] original = Files.readAllBytes(file);
        List<String> lines = Files.readAllLines(file);
        int offset = 0;
        for (int line = 0; line < lines.size(); line++) {
            for (int at : new int[] {5, lines.get(line).length() / 2, lines.get(line).length() - 3}) {
                byte[] b = original.clone();
                b[offset + at] = (byte) (b[offset + at] == '1' ? '2' : '1');
                Files.write(file, b);
                LedgerVerification v = LedgerVerification.of(file);
                assertThat(v.badLine()).as("byte %d of line %d changed", at, line + 1).isEqualTo(line + 1);
                assertThat(v.records()).hasSize(line);
            }
            offset += lines.get(line).getBytes(StandardCharsets.UTF_8).length + 1;
        }
    }

    @Test
    void removedOrReorderedRecords_areFound() throws Exception {
        Path file = write(5);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        List<String> removed = new ArrayList<>(lines);
        removed.remove(2);
        Files.write(file, (String.join("\n", removed) + "\n").getBytes(StandardCharsets.UTF_8));
        assertThat(LedgerVerification.of(file).badLine()).isEqualTo(3);
        assertThat(LedgerVerification.of(file).reason()).contains("sequence 4 where 3 was expected");

        List<String> swapped = new ArrayList<>(lines);
        swapped.set(1, lines.get(2));
        swapped.set(2, lines.get(1));
        Files.write(file, (String.join("\n", swapped) + "\n").getBytes(StandardCharsets.UTF_8));
        assertThat(LedgerVerification.of(file).badLine()).isEqualTo(2);
    }

    @Test
    void tornLastRecord_isSetAside_earlierRecordsKept_andTheChainGoesOn() throws Exception {
        Path file = write(3);
        String torn = "{\"seq\":4,\"time\":\"2026-11-24T00:00:04Z\",\"type\":\"final\",\"entity\":\"e4\",\"pos";
        Files.writeString(file, torn, StandardOpenOption.APPEND);
        assertThat(LedgerVerification.of(file).ok()).isFalse();
        try (Ledger l = Ledger.open(dir, clock)) {
            assertThat(l.recoveredTornRecords()).isEqualTo(1);
            assertThat(l.size()).isEqualTo(3);
            assertThat(l.append("recovery", JsonNodeFactory.instance.objectNode()).seq()).isEqualTo(4);
        }
        LedgerVerification v = LedgerVerification.of(file);
        assertThat(v.ok()).isTrue();
        assertThat(v.records()).hasSize(4);
        try (var aside = Files.list(file.getParent())) {
            List<Path> torns = aside.filter(p -> p.getFileName().toString().startsWith("ledger.jsonl.torn-")).toList();
            assertThat(torns).hasSize(1);
            assertThat(Files.readString(torns.get(0))).isEqualTo(torn);
        }
    }

    @Test
    void alteredRecordInTheMiddle_isNotRepaired_andStaysVisible() throws Exception {
        Path file = write(4);
        String text = Files.readString(file).replace("\"posts\":2000", "\"posts\":2");
        Files.writeString(file, text);
        try (Ledger l = Ledger.open(dir, clock)) {
            assertThat(l.brokenLine()).isEqualTo(2);
            l.append("stop", JsonNodeFactory.instance.objectNode());
        }
        LedgerVerification v = LedgerVerification.of(file);
        assertThat(v.badLine()).isEqualTo(2);
        assertThat(v.reason()).contains("altered");
        assertThat(Files.readAllLines(file)).hasSize(5);
    }
}
