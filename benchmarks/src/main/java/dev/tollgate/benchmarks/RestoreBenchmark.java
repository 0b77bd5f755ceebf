package dev.tollgate.benchmarks;

import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterConfig;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.damages.DamagesTerms;
import dev.tollgate.meter.persist.WindowStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * P7: the time to restore the windows of 1,000,000 entities from a snapshot and its journal, as a
 * gateway does at start. Builds the data once (1,000,000 light entities with one to three
 * buckets each, a snapshot, then a minute of journal batches over 100,000 of them), then
 * restores it into a fresh meter several times and prints each time and the median.
 *
 * <pre>
 *   java -Xmx8g -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.RestoreBenchmark [entities]
 * </pre>
 */
public final class RestoreBenchmark {
    private RestoreBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int entities = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        Path dir = Files.createTempDirectory("tollgate-restore-");
        long t0 = 1_795_478_400_000L;
        ManualClock clock = new ManualClock(t0);
        MeterConfig config = MeterConfig.defaults();
        Meter live = new Meter(config, DamagesTerms.standard(), clock, MeterListener.none());
        WindowStore store = WindowStore.open(dir, live, clock, List.of(), List.of());
        SplittableRandom rnd = new SplittableRandom(7);
        for (int minute = 0; minute < 3; minute++) {
            clock.set(t0 + minute * 60_000L);
            for (int e = 0; e < entities; e++) {
                if (minute == 0 || rnd.nextInt(3) == 0) {
                    live.record("203.0." + (e >>> 8) + "." + (e & 255), 1 + rnd.nextInt(100), 1);
                }
            }
        }
        store.snapshot();
        for (int second = 0; second < 60; second++) {
            clock.set(t0 + 180_000L + second * 1000L);
            for (int k = 0; k < 100_000 / 60; k++) {
                int e = rnd.nextInt(entities);
                live.record("203.0." + (e >>> 8) + "." + (e & 255), 1 + rnd.nextInt(100), 1);
            }
            store.flush();
        }
        long size;
        try (var files = Files.list(dir.resolve("windows"))) {
            size = files.mapToLong(p -> p.toFile().length()).sum();
        }
        System.out.printf("data: %,d entities, %,d bytes of snapshot and journal in %s%n", live.entityCount(), size, dir.resolve("windows"));
        long[] millis = new long[5];
        for (int run = 0; run < millis.length; run++) {
            System.gc();
            Meter fresh = new Meter(config, DamagesTerms.standard(), clock, MeterListener.none());
            long start = System.nanoTime();
            WindowStore restored = WindowStore.open(dir, fresh, clock, List.of(), List.of());
            millis[run] = (System.nanoTime() - start) / 1_000_000;
            System.out.printf("restore %d: %,d entities, %,d bucket lines in %,d ms (includes writing the new snapshot)%n", run + 1,
                    restored.restored().entities(), restored.restored().buckets(), millis[run]);
            if (fresh.posts24h("203.0.0.1") != live.posts24h("203.0.0.1")) {
                throw new AssertionError("restored counts differ");
            }
        }
        Arrays.sort(millis);
        System.out.printf("P7: median restore of %,d entities: %,d ms (target: at most 5,000 ms)%n", entities, millis[millis.length / 2]);
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
