package dev.tollgate.meter.persist;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.meter.Incident;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterConfig;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.damages.DamagesTerms;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WindowStoreTest {
    static final long MINUTE = 60_000;
    static final long T0 = 1_795_478_400_000L;

    @TempDir
    Path dir;

    static Meter meter(ManualClock clock, List<Incident> flags) {
        return new Meter(new MeterConfig(10_000, java.time.Duration.ofHours(24), java.time.Duration.ofMinutes(1)), DamagesTerms.standard(),
                clock, new MeterListener() {
                    @Override
                    public void onFlag(Incident incident) {
                        flags.add(incident);
                    }
                });
    }

    @Test
    void restart_restoresEveryCount_fromSnapshotAndJournal_withoutCountingTwice() throws Exception {
        ManualClock clock = new ManualClock(T0);
        Meter before = meter(clock, new ArrayList<>());
        WindowStore store = WindowStore.open(dir, before, clock, List.of(), List.of());
        SplittableRandom rnd = new SplittableRandom(11);
        for (int second = 0; second < 3 * 3600; second += 7) {
            clock.set(T0 + second * 1000L);
            for (int k = 0; k < 5; k++) {
                before.record("e" + rnd.nextInt(300), rnd.nextInt(50), 1);
            }
            store.flush();
            if (second % 2000 == 0) {
                store.snapshot();
            }
        }
        // a crash: no close, no final snapshot; everything was flushed
        ManualClock later = new ManualClock(clock.millis() + 5_000);
        Meter after = meter(later, new ArrayList<>());
        WindowStore again = WindowStore.open(dir, after, later, List.of(), List.of());
        assertThat(again.restored().entities()).isEqualTo(300);
        for (int e = 0; e < 300; e++) {
            assertThat(after.posts24h("e" + e)).as("e" + e).isEqualTo(before.posts24h("e" + e));
            assertThat(after.requests24h("e" + e)).as("e" + e).isEqualTo(before.requests24h("e" + e));
        }
        // and a second restart from the new generation gives the same again
        again.close();
        Meter third = meter(later, new ArrayList<>());
        WindowStore.open(dir, third, later, List.of(), List.of());
        assertThat(third.posts24h("e7")).isEqualTo(before.posts24h("e7"));
    }

    @Test
    void tornJournalBatch_isDropped_earlierBatchesKept() throws Exception {
        ManualClock clock = new ManualClock(T0);
        Meter before = meter(clock, new ArrayList<>());
        WindowStore store = WindowStore.open(dir, before, clock, List.of(), List.of());
        before.record("a", 100, 1);
        clock.advance(1000);
        store.flush();
        before.record("a", 50, 1);
        clock.advance(1000);
        store.flush();
        Path journal;
        try (var files = Files.list(dir.resolve("windows"))) {
            journal = files.filter(p -> p.getFileName().toString().startsWith("journal-")).findFirst().orElseThrow();
        }
        Files.writeString(journal, "B\t3\tdeadbeef\t1\na\t17954", StandardOpenOption.APPEND);
        Meter after = meter(clock, new ArrayList<>());
        WindowStore again = WindowStore.open(dir, after, clock, List.of(), List.of());
        assertThat(again.restored().droppedTornBatch()).isTrue();
        assertThat(after.posts24h("a")).isEqualTo(150);
    }

    @Test
    void restoredIncidents_areNotFlaggedAgain_andFinalPostsNeverCountTwice() throws Exception {
        ManualClock clock = new ManualClock(T0);
        List<Incident> flags = new ArrayList<>();
        Meter before = meter(clock, flags);
        WindowStore store = WindowStore.open(dir, before, clock, List.of(), List.of());
        before.record("x", 6_000, 1);
        clock.advance(MINUTE);
        before.record("x", 6_000, 1);
        assertThat(flags).hasSize(1);
        clock.advance(1000);
        store.flush();

        List<Incident> flagsAfter = new ArrayList<>();
        Meter after = meter(clock, flagsAfter);
        Incident open = flags.get(0);
        WindowStore.open(dir, after, clock, List.of(new Meter.RestoredIncidents("x", 0, 0, open.sequence(), open.flaggedAtMillis(),
                open.flagCount())), List.of());
        assertThat(after.flagged("x")).isTrue();
        after.record("x", 1_000, 1);
        assertThat(flagsAfter).as("still the same open incident").isEmpty();
        assertThat(after.posts24h("x")).isEqualTo(13_000);
        clock.advance(24 * 60 * MINUTE);
        after.tick();
        assertThat(after.incidents()).hasSize(1);
        assertThat(after.incidents().get(0).status()).isEqualTo(Incident.Status.FINAL);
        assertThat(after.incidents().get(0).posts()).isEqualTo(13_000);
    }
}
