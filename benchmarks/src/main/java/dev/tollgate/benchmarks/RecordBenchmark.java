package dev.tollgate.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterConfig;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * P4: {@code record(entity, posts)} into the sliding-window meter with Zipf-distributed keys over
 * 1,000,000 entities, against a {@code ConcurrentHashMap<String, LongAdder>} (no window at all)
 * and against a naive locked timestamp log (a sliding window done the obvious way).
 *
 * <p>Run (1 and 2 threads):
 * <pre>
 *   java -Xmx8g -jar benchmarks/target/benchmarks.jar RecordBenchmark -t 1 -f 1 -wi 3 -i 5 -w 2s -r 3s
 *   java -Xmx8g -jar benchmarks/target/benchmarks.jar RecordBenchmark -t 2 -f 1 -wi 3 -i 5 -w 2s -r 3s
 * </pre>
 * P4 = {@code tollgate} ÷ {@code concurrentHashMapLongAdder}, each at the same thread count.
 * {@code caffeineLookupOnly} measures a Caffeine cache with per-entry expiry alone (the entity
 * table before issue 10), for comparison with the purpose-built table. The meter runs with its
 * default bound (a quarter of the heap ÷ 256 bytes, 8.4 million entities at -Xmx8g), so the
 * 1,000,000 keys never evict.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class RecordBenchmark {
    static final int SEQUENCE = 1 << 22;

    @State(Scope.Benchmark)
    public static class Keys {
        @Param("1000000")
        public int entities;
        ZipfKeys zipf;

        @Setup(Level.Trial)
        public void setUp() {
            zipf = new ZipfKeys(entities, SEQUENCE, 42);
        }
    }

    /** Each thread walks the shared Zipf sequence from its own offset. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;
        long posts = 10;

        @Setup(Level.Trial)
        public void setUp() {
            next = (int) (Thread.currentThread().getId() * 7919) & (SEQUENCE - 1);
        }

        String key(Keys keys) {
            int i = next;
            next = (i + 1) & (SEQUENCE - 1);
            return keys.zipf.keys[keys.zipf.sequence[i]];
        }
    }

    @State(Scope.Benchmark)
    public static class TollgateState {
        /** As the gateway runs it: remembering changed entities for the journal (one set lookup more per record). */
        @Param({"false", "true"})
        public boolean trackChanges;
        Meter meter;

        @Setup(Level.Trial)
        public void setUp() {
            meter = new Meter(MeterConfig.defaults(), DamagesTerms.standard(), Clock.systemUTC(), MeterListener.none());
            if (trackChanges) {
                meter.changeFeed();
            }
        }
    }

    @State(Scope.Benchmark)
    public static class AdderState {
        ConcurrentHashMap<String, LongAdder> counts;

        @Setup(Level.Trial)
        public void setUp() {
            counts = new ConcurrentHashMap<>();
        }
    }

    /** The obvious sliding window: a per-entity log of (millisecond, posts), under the entity's lock. */
    @State(Scope.Benchmark)
    public static class LockedLogState {
        Map<String, TimestampLog> logs;

        @Setup(Level.Trial)
        public void setUp() {
            logs = new ConcurrentHashMap<>();
        }
    }

    static final class TimestampLog {
        private static final long WINDOW = TimeUnit.HOURS.toMillis(24);
        private long[] times = new long[4];
        private long[] posts = new long[4];
        private int head;
        private int size;
        private long sum;

        synchronized long record(long now, long n) {
            while (size > 0 && times[head] <= now - WINDOW) {
                sum -= posts[head];
                head = (head + 1) % times.length;
                size--;
            }
            int last = (head + size - 1 + times.length) % times.length;
            if (size > 0 && times[last] == now) {
                posts[last] += n;
            } else {
                if (size == times.length) {
                    grow();
                    last = size - 1;
                }
                int at = (head + size) % times.length;
                times[at] = now;
                posts[at] = n;
                size++;
            }
            sum += n;
            return sum;
        }

        private void grow() {
            long[] t = new long[times.length * 2];
            long[] p = new long[times.length * 2];
            for (int k = 0; k < size; k++) {
                t[k] = times[(head + k) % times.length];
                p[k] = posts[(head + k) % times.length];
            }
            times = t;
            posts = p;
            head = 0;
        }
    }

    @Benchmark
    public long tollgate(TollgateState s, Keys keys, Cursor c) {
        return s.meter.record(c.key(keys), c.posts, 1);
    }

    @Benchmark
    public long concurrentHashMapLongAdder(AdderState s, Keys keys, Cursor c) {
        LongAdder adder = s.counts.computeIfAbsent(c.key(keys), k -> new LongAdder());
        adder.add(c.posts);
        return c.posts;
    }

    /**
     * The old entity table alone: a Caffeine cache with per-entry expiry, looked up the way the
     * meter did, holding a 6-word array per key and counting nothing.
     */
    @State(Scope.Benchmark)
    public static class CaffeineState {
        Cache<String, long[]> cache;

        @Setup(Level.Trial)
        public void setUp() {
            cache = Caffeine.newBuilder().expireAfter(new Expiry<String, long[]>() {
                @Override
                public long expireAfterCreate(String key, long[] value, long currentTime) {
                    return Long.MAX_VALUE;
                }

                @Override
                public long expireAfterUpdate(String key, long[] value, long currentTime, long currentDuration) {
                    return currentDuration;
                }

                @Override
                public long expireAfterRead(String key, long[] value, long currentTime, long currentDuration) {
                    return currentDuration;
                }
            }).build();
        }
    }

    @Benchmark
    public long caffeineLookupOnly(CaffeineState s, Keys keys, Cursor c) {
        String k = c.key(keys);
        long[] v = s.cache.policy().getIfPresentQuietly(k);
        if (v == null) {
            v = s.cache.get(k, x -> new long[6]);
        }
        return v.length;
    }

    @Benchmark
    public long lockedTimestampLog(LockedLogState s, Keys keys, Cursor c) {
        TimestampLog log = s.logs.computeIfAbsent(c.key(keys), k -> new TimestampLog());
        return log.record(System.currentTimeMillis(), c.posts);
    }
}
