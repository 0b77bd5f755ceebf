package dev.tollgate.benchmarks;

import java.util.Arrays;
import java.util.concurrent.Callable;

/**
 * P6 on a shared, noisy machine: the two sides of each ratio of {@link PostCountBenchmark} run in
 * alternating one-second slices on one thread, so a burst of load from elsewhere hits both; each
 * round gives a ratio, and the median of the rounds is printed. JMH's figures stay the reference
 * on a quiet machine.
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.PostCountRatio [rounds]
 * </pre>
 */
public final class PostCountRatio {
    private PostCountRatio() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 9;
        PostCountBenchmark b = new PostCountBenchmark();
        b.posts = 100;
        b.piece = 8192;
        b.setUp();
        compare("P6      streamingCount / jacksonReadTree", b::streamingCount, b::jacksonReadTree, rounds);
        compare("P6 gzip gzipStreamingCount / gzipReadTree", b::gzipStreamingCount, b::gzipReadTree, rounds);
        compare("gzip    gzipStreamingCount / gzipDecodeOnly", b::gzipStreamingCount, b::gzipDecodeOnly, rounds);
    }

    private static long sink;

    private static void compare(String name, Callable<Long> a, Callable<Long> b, int rounds) throws Exception {
        rate(a, 2_000);
        rate(b, 2_000); // warm-up
        double[] ratios = new double[rounds];
        StringBuilder line = new StringBuilder();
        for (int r = 0; r < rounds; r++) {
            double ra = rate(a, 1_000);
            double rb = rate(b, 1_000);
            ratios[r] = ra / rb;
            line.append(String.format(java.util.Locale.ROOT, " %.1f/%.1f", ra, rb));
        }
        double[] sorted = ratios.clone();
        Arrays.sort(sorted);
        System.out.printf(java.util.Locale.ROOT, "%s = %.2f (median of %d; pages/ms per round:%s)%n", name, sorted[rounds / 2], rounds, line);
    }

    /** Calls per millisecond over about {@code millis}. */
    private static double rate(Callable<Long> task, long millis) throws Exception {
        long end = System.nanoTime() + millis * 1_000_000;
        long n = 0;
        long start = System.nanoTime();
        long now;
        do {
            for (int i = 0; i < 64; i++) {
                sink += task.call();
            }
            n += 64;
            now = System.nanoTime();
        } while (now < end);
        return n / ((now - start) / 1e6);
    }
}
