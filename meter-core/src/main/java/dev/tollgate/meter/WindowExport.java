package dev.tollgate.meter;

/**
 * The per-bucket counts of one entity, in order from {@code firstBucketMillis}, one bucket of
 * {@code bucketMillis} each: what a snapshot stores and what another gateway's meter can merge.
 */
public record WindowExport(String entity, long firstBucketMillis, long bucketMillis, long[] posts, long[] requests) {

    public long totalPosts() {
        long total = 0;
        for (long p : posts) {
            total += p;
        }
        return total;
    }
}
