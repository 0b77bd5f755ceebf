package dev.tollgate.meter.persist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.Meter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The window store on a disk that fills up: a failed journal write is cut back, its counts stay
 * pending and are written once space returns, a failed snapshot keeps what it would replace, and
 * a restart (after a crash: no close) restores every count.
 */
class WindowStoreDiskFaultTest {
    static final long T0 = WindowStoreTest.T0;

    @TempDir
    Path dir;
    final ManualClock clock = new ManualClock(T0);
    final FillingDisk disk = new FillingDisk();

    private Path windows() {
        return dir.resolve("windows");
    }

    private List<Path> files(String prefix) throws IOException {
        try (var f = Files.list(windows())) {
            return f.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().toList();
        }
    }

    private long journalBytes() throws IOException {
        long n = 0;
        for (Path p : files("journal-")) {
            n += Files.size(p);
        }
        return n;
    }

    /** A restart after a crash, on a healthy disk, into a fresh meter. */
    private Meter restart(ManualClock c) throws IOException {
        Meter m = WindowStoreTest.meter(c, new ArrayList<>());
        WindowStore.open(dir, m, c, List.of(), List.of());
        return m;
    }

    @Test
    void fullDisk_partialWriteIsCutBack_pendingCountsWrittenInOrderOnceSpaceReturns_crashRestoresEveryCount() throws Exception {
        Meter before = WindowStoreTest.meter(clock, new ArrayList<>());
        WindowStore store = WindowStore.open(dir, before, clock, List.of(), List.of(), disk);
        before.record("a", 100, 1);
        clock.advance(1000);
        store.flush();
        long good = journalBytes();
        assertThat(good).isPositive();

        // the disk fills: the next batch gets 40 bytes on disk, then "No space left on device"
        for (int e = 0; e < 50; e++) {
            before.record("once-" + e, 10 + e, 1); // recorded once, never again: only the pending copy can save them
        }
        disk.fill(40);
        clock.advance(1000);
        assertThatThrownBy(store::flush).isInstanceOf(IOException.class).hasMessageContaining("No space left");
        assertThat(store.failing()).isTrue();
        assertThat(store.pendingEntities()).isEqualTo(50);
        assertThat(journalBytes()).as("the partial batch was cut back").isEqualTo(good);
        assertThat(disk.failedWrites.get()).isEqualTo(1);

        // still full: later counts join the pending ones
        before.record("a", 5, 1);
        before.record("during", 7, 1);
        clock.advance(1000);
        assertThatThrownBy(store::flush).isInstanceOf(IOException.class);
        assertThat(store.pendingEntities()).isEqualTo(52);
        assertThat(journalBytes()).isEqualTo(good);

        // space returns: the backlog is written with the next flush, and readiness recovers
        disk.free();
        before.record("after", 3, 1);
        clock.advance(1000);
        store.flush();
        assertThat(store.failing()).isFalse();
        assertThat(store.pendingEntities()).isZero();
        before.record("after", 4, 1);
        clock.advance(1000);
        store.flush();

        // kill -9: no close, no snapshot
        Meter after = restart(new ManualClock(clock.millis() + 1000));
        for (String e : List.of("a", "during", "after", "once-0", "once-17", "once-49")) {
            assertThat(after.posts24h(e)).as(e).isEqualTo(before.posts24h(e)).isPositive();
        }
        for (int e = 0; e < 50; e++) {
            assertThat(after.posts24h("once-" + e)).isEqualTo(10 + e);
        }
        assertThat(after.posts24h("a")).isEqualTo(105);
        assertThat(after.posts24h("after")).isEqualTo(7);
    }

    @Test
    void truncationFailsToo_nothingIsAppendedAfterThePartialBatch_untilItIsCutBack() throws Exception {
        Meter before = WindowStoreTest.meter(clock, new ArrayList<>());
        WindowStore store = WindowStore.open(dir, before, clock, List.of(), List.of(), disk);
        before.record("a", 100, 1);
        clock.advance(1000);
        store.flush();
        long good = journalBytes();
        before.record("b", 20, 1);
        disk.fill(10);
        disk.truncateFails = true;
        clock.advance(1000);
        assertThatThrownBy(store::flush).isInstanceOf(IOException.class);
        assertThat(journalBytes()).as("10 bytes of a partial batch, the tail").isEqualTo(good + 10);

        // a crash now: the partial batch is the tail and is dropped; "a" is whole
        ManualClock c = new ManualClock(clock.millis());
        Path copy = Files.createDirectories(dir.resolve("copy"));
        for (Path p : files("")) {
            Files.createDirectories(copy.resolve("windows"));
            Files.copy(p, copy.resolve("windows").resolve(p.getFileName()));
        }
        Meter crashed = WindowStoreTest.meter(c, new ArrayList<>());
        WindowStore s = WindowStore.open(copy, crashed, c, List.of(), List.of());
        assertThat(s.restored().droppedTornBatch()).isTrue();
        assertThat(crashed.posts24h("a")).isEqualTo(100);

        // space back, the cut-back succeeds first, then the batch follows the good ones
        disk.free();
        before.record("c", 30, 1);
        clock.advance(1000);
        store.flush();
        assertThat(store.failing()).isFalse();
        Meter after = restart(new ManualClock(clock.millis()));
        assertThat(after.posts24h("a")).isEqualTo(100);
        assertThat(after.posts24h("b")).isEqualTo(20);
        assertThat(after.posts24h("c")).isEqualTo(30);
    }

    @Test
    void failedSnapshot_keepsThePreviousSnapshotAndEveryJournal_andAllIsRestored() throws Exception {
        Meter before = WindowStoreTest.meter(clock, new ArrayList<>());
        WindowStore store = WindowStore.open(dir, before, clock, List.of(), List.of(), disk);
        for (int e = 0; e < 200; e++) {
            before.record("e" + e, 1 + e, 1);
        }
        clock.advance(1000);
        store.flush();
        List<Path> snapshotsBefore = files("snapshot-");
        assertThat(snapshotsBefore).hasSize(1);

        disk.fill(500); // the snapshot of 200 entities does not fit
        before.record("e1", 1000, 1);
        clock.advance(1000);
        assertThatThrownBy(store::snapshot).isInstanceOf(IOException.class);
        assertThat(files("snapshot-")).as("the previous snapshot stays, the temporary file is gone").isEqualTo(snapshotsBefore);
        assertThat(files("journal-")).as("the old journal and the new one").hasSize(2);

        disk.free();
        before.record("e2", 1000, 1);
        clock.advance(1000);
        store.flush();
        Meter after = restart(new ManualClock(clock.millis()));
        for (int e = 0; e < 200; e++) {
            assertThat(after.posts24h("e" + e)).as("e" + e).isEqualTo(before.posts24h("e" + e));
        }
        assertThat(after.posts24h("e1")).isEqualTo(1002);

        // and a snapshot that succeeds removes the older generations
        store.snapshot();
        assertThat(files("snapshot-")).hasSize(1).doesNotContainAnyElementsOf(snapshotsBefore);
        assertThat(files("journal-")).hasSize(1);
    }

    @Test
    void startOnAFullDisk_keepsTheOldGeneration_andCountsFromBeforeAndAfterSurviveTheNextCrash() throws Exception {
        Meter first = WindowStoreTest.meter(clock, new ArrayList<>());
        WindowStore store = WindowStore.open(dir, first, clock, List.of(), List.of(), disk);
        for (int e = 0; e < 100; e++) {
            first.record("e" + e, 1 + e, 1);
        }
        clock.advance(1000);
        store.flush(); // then kill -9

        disk.fill(0);
        Meter second = WindowStoreTest.meter(clock, new ArrayList<>());
        WindowStore again = WindowStore.open(dir, second, clock, List.of(), List.of(), disk);
        assertThat(second.posts24h("e42")).isEqualTo(43);
        second.record("e42", 1000, 1);
        clock.advance(1000);
        assertThatThrownBy(again::flush).isInstanceOf(IOException.class);
        assertThat(again.failing()).isTrue();
        disk.free();
        clock.advance(1000);
        again.flush(); // then kill -9 again
        assertThat(again.failing()).isFalse();

        Meter third = restart(new ManualClock(clock.millis()));
        for (int e = 0; e < 100; e++) {
            assertThat(third.posts24h("e" + e)).as("e" + e).isEqualTo(e == 42 ? 1043 : 1 + e);
        }
    }

    @Test
    void cleanStopOnAFullDisk_saysWhatIsLost_andKeepsWhatWasWritten() throws Exception {
        Meter before = WindowStoreTest.meter(clock, new ArrayList<>());
        WindowStore store = WindowStore.open(dir, before, clock, List.of(), List.of(), disk);
        before.record("a", 100, 1);
        clock.advance(1000);
        store.flush();
        before.record("b", 20, 1);
        disk.fill(0);
        clock.advance(1000);
        assertThatThrownBy(store::close).isInstanceOf(IOException.class)
                .hasMessageContaining("neither a snapshot nor the journal could be written at stop")
                .hasMessageContaining("the last counts of 1 entities are lost");
        assertThat(files("")).noneMatch(p -> p.getFileName().toString().endsWith(".tmp"));
        Meter after = restart(new ManualClock(clock.millis()));
        assertThat(after.posts24h("a")).isEqualTo(100);
    }

    @Test
    void restore_skipsDamageInTheMiddle_andKeepsTheGoodBatchesAfterIt() throws Exception {
        // what the old writer left: a batch cut short by a full disk, and the next batches appended right after it
        Files.createDirectories(windows());
        long t = T0 - T0 % 60_000;
        String journal = batch("a\t" + t + "\t100\t1\n") + "B\t3\tdeadbeef\t1\nx\t17954" + batch("b\t" + t + "\t200\t2\n")
                + batch("c\t" + t + "\t300\t3\nb\t" + t + "\t250\t3\n");
        Files.writeString(windows().resolve("journal-0.log"), journal);
        ManualClock c = new ManualClock(T0 + 1000);
        Meter m = WindowStoreTest.meter(c, new ArrayList<>());
        WindowStore s = WindowStore.open(dir, m, c, List.of(), List.of());
        assertThat(s.restored().droppedTornBatch()).isFalse();
        assertThat(s.restored().skippedDamage()).isEqualTo(1);
        assertThat(s.restored().journalBatches()).isEqualTo(3);
        assertThat(m.posts24h("a")).isEqualTo(100);
        assertThat(m.posts24h("b")).isEqualTo(250);
        assertThat(m.posts24h("c")).isEqualTo(300);
        assertThat(m.posts24h("x")).isZero();
    }

    @Test
    void damagedSnapshot_refusesToStart_andAdvisesKeepingTheFile() throws Exception {
        Meter before = WindowStoreTest.meter(clock, new ArrayList<>());
        WindowStore store = WindowStore.open(dir, before, clock, List.of(), List.of());
        before.record("a", 100, 1);
        store.close();
        Path snap = files("snapshot-").get(0);
        Files.writeString(snap, Files.readString(snap).replace("\t100\t", "\t900\t"));
        Meter m = WindowStoreTest.meter(clock, new ArrayList<>());
        assertThatThrownBy(() -> WindowStore.open(dir, m, clock, List.of(), List.of())).isInstanceOf(IOException.class)
                .hasMessageContaining(snap.toString()).hasMessageContaining("does not match its check line")
                .hasMessageContaining("does not start rather than lose").hasMessageContaining("Keep the file")
                .hasMessageContaining("accept losing").hasMessageNotContaining("\n").hasMessageNotContaining("remove it");
        assertThat(snap).exists();
    }

    private static String batch(String lines) {
        CRC32 crc = new CRC32();
        crc.update(lines.getBytes(StandardCharsets.UTF_8));
        return "B\t" + lines.split("\n").length + "\t" + Long.toHexString(crc.getValue()) + "\t" + T0 + "\n" + lines;
    }
}
