package dev.tollgate.benchmarks;

import dev.tollgate.meter.Meter;
import dev.tollgate.meter.MeterConfig;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.damages.DamagesTerms;
import java.time.Clock;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.LongAdder;

/**
 * P4 on a shared, noisy machine: the same work as {@link RecordBenchmark} ({@code tollgate} and
 * {@code concurrentHashMapLongAdder}, Zipf keys over 1,000,000 entities), but the two run in
 * alternating short slices in one JVM, so that both see the same load; the ratio is taken of the
 * medians. Uses only the meter's public API, so the same class runs against an older jar.
 *
 * <p>Run: {@code java -Xmx8g -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.RecordRatio [threads] [slices] [sliceMillis]}
 */
public final class RecordRatio {
    private RecordRatio() {
    }

    interface Op {
        long run(String key);
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int slices = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        long sliceMillis = args.length > 2 ? Long.parseLong(args[2]) : 300;
        ZipfKeys zipf = new ZipfKeys(1_000_000, RecordBenchmark.SEQUENCE, 42);
        Meter meter = new Meter(MeterConfig.defaults(), DamagesTerms.standard(), Clock.systemUTC(), MeterListener.none());
        ConcurrentHashMap<String, LongAdder> counts = new ConcurrentHashMap<>();
        Op tollgate = key -> meter.record(key, 10, 1);
        Op adder = key -> {
            LongAdder a = counts.computeIfAbsent(key, k -> new LongAdder());
            a.add(10);
            return 10;
        };
        // warm-up: every key once in both, then alternate
        for (int k = 0; k < 3; k++) {
            slice(tollgate, zipf, threads, 2_000);
            slice(adder, zipf, threads, 2_000);
        }
        double[] t = new double[slices];
        double[] c = new double[slices];
        for (int s = 0; s < slices; s++) {
            if ((s & 1) == 0) {
                t[s] = slice(tollgate, zipf, threads, sliceMillis);
                c[s] = slice(adder, zipf, threads, sliceMillis);
            } else {
                c[s] = slice(adder, zipf, threads, sliceMillis);
                t[s] = slice(tollgate, zipf, threads, sliceMillis);
            }
        }
        double[] ratios = new double[slices];
        for (int s = 0; s < slices; s++) {
            ratios[s] = t[s] / c[s];
        }
        System.out.printf("threads %d, %d slices of %d ms each: tollgate %.2f ops/us, ConcurrentHashMap+LongAdder %.2f ops/us (medians); "
                + "P4 = median of per-slice ratios %.2f (quartiles %.2f..%.2f)%n", threads, slices, sliceMillis, median(t), median(c),
                median(ratios), quantile(ratios, 0.25), quantile(ratios, 0.75));
    }

    /** Runs {@code op} on {@code threads} threads for about {@code millis}; ops per microsecond. */
    static double slice(Op op, ZipfKeys zipf, int threads, long millis) throws Exception {
        LongAdder ops = new LongAdder();
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        long[] sink = new long[threads];
        Thread[] all = new Thread[threads];
        long[] end = new long[1];
        for (int i = 0; i < threads; i++) {
            int id = i;
            all[i] = new Thread(() -> {
                int next = (int) (System.nanoTime() * 7919 + id * 104_729) & (RecordBenchmark.SEQUENCE - 1);
                try {
                    start.await();
                } catch (Exception e) {
                    return;
                }
                long n = 0;
                long acc = 0;
                long stop = end[0];
                while (true) {
                    for (int k = 0; k < 256; k++) {
                        acc += op.run(zipf.keys[zipf.sequence[next]]);
                        next = (next + 1) & (RecordBenchmark.SEQUENCE - 1);
                    }
                    n += 256;
                    if (System.nanoTime() >= stop) {
                        break;
                    }
                }
                ops.add(n);
                sink[id] = acc;
            });
            all[i].start();
        }
        long t0 = System.nanoTime();
        end[0] = t0 + millis * 1_000_000;
        start.await();
        for (Thread th : all) {
            th.join();
        }
        long elapsed = System.nanoTime() - t0;
        return ops.sum() / (elapsed / 1_000.0);
    }

    static double median(double[] xs) {
        return quantile(xs, 0.5);
    }

    static double quantile(double[] xs, double q) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[(int) Math.min(s.length - 1, Math.round(q * (s.length - 1)))];
    }
}
