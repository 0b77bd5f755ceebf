package dev.tollgate.meter;

import dev.tollgate.meter.damages.Money;

/**
 * One flag and its damage period (SPEC §5). A provisional incident shows the period as it stands
 * now; a final one never changes again.
 *
 * @param entity         the entity id
 * @param sequence       1, 2, … per entity: the n-th flag of that entity
 * @param flaggedAtMillis the instant of the flag
 * @param flagCount      the unassigned sliding count that crossed the threshold
 * @param status         provisional until 24h after the flag, then final
 * @param periodStartMillis start of the damage period (inclusive, a bucket boundary)
 * @param periodEndMillis   end of the damage period (exclusive, start + window)
 * @param posts          posts inside the period
 * @param requests       requests inside the period
 * @param amount         the damages for the period
 * @param evidence       per-bucket counts of the 48h around the flag and the rule used
 */
public record Incident(
        String entity,
        int sequence,
        long flaggedAtMillis,
        long flagCount,
        Status status,
        long periodStartMillis,
        long periodEndMillis,
        long posts,
        long requests,
        Money amount,
        Evidence evidence) {

    public enum Status {
        PROVISIONAL("provisional"),
        FINAL("final");

        private final String label;

        Status(String label) {
            this.label = label;
        }

        /** The name used in reports and the API. */
        public String label() {
            return label;
        }
    }

    /** A stable identifier: entity and sequence. */
    public String id() {
        return entity + "#" + sequence;
    }

    /**
     * What anyone needs to recompute the period and the amount: the bucket counts from
     * {@code firstBucketMillis} onward (one per bucket of {@code bucketMillis}), the threshold,
     * the window, the earliest start the rule allowed, and the price explanation.
     */
    public record Evidence(
            long firstBucketMillis,
            long bucketMillis,
            long windowMillis,
            long threshold,
            long earliestStartMillis,
            long[] posts,
            long[] requests,
            String rule) {
    }
}
