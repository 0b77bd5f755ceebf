package dev.tollgate.meter.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.meter.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
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
    void alteredRecordInTheMiddle_refusesToOpen_andChangesNothing() throws Exception {
        Path file = write(4);
        String text = Files.readString(file).replace("\"posts\":2000", "\"posts\":2");
        Files.writeString(file, text);
        byte[] before = Files.readAllBytes(file);
        assertThatThrownBy(() -> Ledger.open(dir, clock))
                .isInstanceOf(Ledger.BrokenLedgerException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("line 2 (record 2)")
                .hasMessageContaining("altered")
                .hasMessageContaining("tollgate verify-ledger");
        assertThat(Files.readAllBytes(file)).isEqualTo(before);
        LedgerVerification v = LedgerVerification.of(file);
        assertThat(v.badLine()).isEqualTo(2);
        assertThat(v.reason()).contains("altered");
    }

    /** Issue 10: a complete (newline-ended) but altered last record used to be "repaired" away as torn. */
    @Test
    void alteredLastRecord_withItsNewline_isEvidence_notATornWrite_neverTruncated() throws Exception {
        Path file = write(4);
        List<String> lines = Files.readAllLines(file);
        String last = lines.get(3);
        for (String altered : new String[] {last.replace("\"posts\":4000", "\"posts\":4"), // an edit
                last.substring(0, 20) + (last.charAt(20) == '1' ? '2' : '1') + last.substring(21)}) { // one byte flipped
            List<String> changed = new ArrayList<>(lines);
            changed.set(3, altered);
            Files.write(file, (String.join("\n", changed) + "\n").getBytes(StandardCharsets.UTF_8));
            byte[] before = Files.readAllBytes(file);
            assertThatThrownBy(() -> Ledger.open(dir, clock)).isInstanceOf(Ledger.BrokenLedgerException.class)
                    .hasMessageContaining("line 4 (record 4)");
            assertThat(Files.readAllBytes(file)).as("never truncated").isEqualTo(before);
            assertThat(LedgerVerification.of(file).badLine()).isEqualTo(4);
        }
        try (var aside = Files.list(file.getParent())) {
            assertThat(aside.filter(p -> p.getFileName().toString().contains("torn")).toList()).as("nothing set aside").isEmpty();
        }
    }

    @Test
    void head_isTheCountAndLastHash_andAKeptHeadIsFoundLater() throws Exception {
        Path file = write(3);
        LedgerHead kept = LedgerVerification.of(file).head();
        assertThat(kept.records()).isEqualTo(3);
        try (Ledger l = Ledger.open(dir, clock)) {
            assertThat(l.head()).isEqualTo(kept);
            l.append("stop", JsonNodeFactory.instance.objectNode());
            assertThat(l.head().records()).isEqualTo(4);
            assertThat(l.head()).isEqualTo(LedgerVerification.of(file).head());
        }
        assertThat(LedgerVerification.of(file).seqOf(kept.hash())).isEqualTo(3);
        assertThat(LedgerVerification.of(file).seqOf("ab".repeat(32))).isZero();
    }

    @Test
    void fullDisk_keepsRecordsQueuedInOrder_leavesNoPartialRecord_andWritesThemWhenSpaceReturns() throws Exception {
        Path file = write(2);
        ControlledDisk[] disk = new ControlledDisk[1];
        try (Ledger l = Ledger.open(dir, clock, real -> disk[0] = new ControlledDisk(real))) {
            long sizeBefore = Files.size(file);
            disk[0].full = true;
            assertThatThrownBy(() -> l.append("provisional", fields(3))).isInstanceOf(java.io.UncheckedIOException.class)
                    .hasMessageContaining("No space left");
            assertThat(l.failing()).isTrue();
            var later = l.submit("final", fields(4));
            var flagAndPeriod = l.submitAll(List.of("flag", "provisional"), List.of(fields(5), fields(6)));
            assertThat(Files.size(file)).as("the half-written batch was cut back").isEqualTo(sizeBefore);
            assertThat(l.pending()).isEqualTo(4);
            assertThat(later).isNotDone();
            assertThat(l.head().records()).isEqualTo(2);
            // still failing a retry later, and still nothing partial in the file
            int failed = disk[0].failedWrites.get();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (disk[0].failedWrites.get() == failed && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(disk[0].failedWrites.get()).as("retried").isGreaterThan(failed);
            assertThat(Files.size(file)).isEqualTo(sizeBefore);
            assertThat(l.failing()).isTrue();

            long freed = System.nanoTime();
            disk[0].full = false; // space returns
            assertThat(later.get(5, java.util.concurrent.TimeUnit.SECONDS).seq()).isEqualTo(4);
            assertThat(flagAndPeriod.get(5, java.util.concurrent.TimeUnit.SECONDS)).extracting(LedgerRecord::seq).containsExactly(5L, 6L);
            while (l.failing() && System.nanoTime() < freed + 5_000_000_000L) {
                Thread.sleep(5);
            }
            assertThat(l.failing()).as("ready again once the backlog is written, without any later write").isFalse();
            assertThat((System.nanoTime() - freed) / 1_000_000).as("within about a second").isLessThan(2000);
            assertThat(l.pending()).isZero();
            assertThat(l.head().records()).isEqualTo(6);
        }
        LedgerVerification v = LedgerVerification.of(file);
        assertThat(v.ok()).isTrue();
        assertThat(v.records()).extracting(LedgerRecord::type).containsExactly("flag", "flag", "provisional", "final", "flag", "provisional");
        assertThat(v.records().get(2).fields().path("entity").asText()).isEqualTo("e3");
    }

    @Test
    void everyFsync_isOnTheLedgerThread_andRecordsQueuedTogether_shareOne() throws Exception {
        ControlledDisk[] disk = new ControlledDisk[1];
        try (Ledger l = Ledger.open(dir, clock, real -> disk[0] = new ControlledDisk(real))) {
            CountDownLatch hold = new CountDownLatch(1);
            disk[0].hold = hold;
            var first = l.submit("flag", fields(1)); // held at its fsync
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (disk[0].forcingThreads.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            List<java.util.concurrent.CompletableFuture<LedgerRecord>> queued = new ArrayList<>();
            for (int i = 2; i <= 20; i++) {
                queued.add(l.submit("flag", fields(i)));
            }
            assertThat(first).as("not durable while its fsync is held").isNotDone();
            disk[0].hold = null;
            hold.countDown();
            for (var f : queued) {
                f.get(5, java.util.concurrent.TimeUnit.SECONDS);
            }
            assertThat(disk[0].forces.get()).as("19 records queued behind one fsync share the next one").isEqualTo(2);
            assertThat(disk[0].forcingThreads).containsExactly("tollgate-ledger");
        }
        assertThat(LedgerVerification.of(Ledger.fileIn(dir)).records()).hasSize(20);
    }

    @Test
    void closeWithTheDiskStillFull_writesNothingPartial_andTheNextOpenIsClean() throws Exception {
        Path file = write(2);
        ControlledDisk[] disk = new ControlledDisk[1];
        Ledger l = Ledger.open(dir, clock, real -> disk[0] = new ControlledDisk(real));
        disk[0].full = true;
        var lost = l.submit("provisional", fields(3));
        l.close();
        assertThat(lost).isCompletedExceptionally();
        assertThat(LedgerVerification.of(file).ok()).isTrue();
        assertThat(LedgerVerification.of(file).records()).hasSize(2);
    }

    @Test
    void filesArePrivateToTheirOwner() throws Exception {
        Path file = write(1);
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent()))).isEqualTo("rwx------");
    }
}
