package dev.tollgate.benchmarks;

import java.util.SplittableRandom;

/**
 * A fixed sequence of entity keys drawn from a Zipf distribution (exponent 1) over
 * {@code entities} ranks, generated once so that benchmarks measure recording, not sampling.
 */
final class ZipfKeys {
    final String[] keys;
    final int[] sequence;

    ZipfKeys(int entities, int length, long seed) {
        keys = new String[entities];
        for (int i = 0; i < entities; i++) {
            keys[i] = "net:" + (10 + (i >>> 16)) + "." + ((i >>> 8) & 0xff) + "." + (i & 0xff) + ".0/24";
        }
        double[] cdf = new double[entities];
        double total = 0;
        for (int i = 0; i < entities; i++) {
            total += 1.0 / (i + 1);
            cdf[i] = total;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        sequence = new int[length];
        for (int k = 0; k < length; k++) {
            double u = rnd.nextDouble() * total;
            int lo = 0;
            int hi = entities - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cdf[mid] < u) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            sequence[k] = lo;
        }
    }
}
