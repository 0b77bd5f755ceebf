package dev.tollgate.meter.damages;

import dev.tollgate.meter.Incident;
import dev.tollgate.meter.MeterConfig;
import java.util.function.LongUnaryOperator;

/**
 * SPEC §5's billing rule, in one place: which 24h run is the damage period of a flag, and what
 * it owes. Pure functions over a per-bucket series, so the single process (its own window) and
 * the cluster (the global window read from Redis) choose and price periods the same way.
 *
 * <p>Buckets are numbered consecutively (any origin): the period is the {@code n}-bucket run
 * starting between {@code earliestStart} and the flag bucket with the most posts, the earliest on
 * ties. {@code earliestStart} is {@code flagBucket - n + 1}, or the end of the entity's last final
 * period if that is later (its posts are not billed twice).
 */
public final class PeriodRule {
    private PeriodRule() {
    }

    /** Per-bucket counts of one entity, by bucket number. */
    public interface Series {
        long postsAt(long bucket);

        long requestsAt(long bucket);
    }

    /** A chosen period: its first bucket, its posts and requests. */
    public record Period(long start, long posts, long requests) {
    }

    /** The period of a flag at {@code flagBucket}, for windows of {@code n} buckets. */
    public static Period choose(Series s, long earliestStart, long flagBucket, int n) {
        long sum = 0;
        for (long x = earliestStart; x < earliestStart + n; x++) {
            sum += s.postsAt(x);
        }
        long bestStart = earliestStart;
        long best = sum;
        for (long start = earliestStart + 1; start <= flagBucket; start++) {
            sum += s.postsAt(start + n - 1) - s.postsAt(start - 1);
            if (sum > best) {
                best = sum;
                bestStart = start;
            }
        }
        long requests = 0;
        for (long x = bestStart; x < bestStart + n; x++) {
            requests += s.requestsAt(x);
        }
        return new Period(bestStart, best, requests);
    }

    /** One flag of one entity, as the rule needs it. */
    public record Flag(String entity, int sequence, long flaggedAtMillis, long flagCount, long flagBucket, long earliestStart) {
    }

    /**
     * The incident of {@code flag} as it stands on {@code s}: its period chosen and priced, with the
     * evidence (the 2n - 1 buckets around the flag) anyone needs to recompute both.
     *
     * @param millisOf the start of a bucket number, in epoch milliseconds
     */
    public static Incident assess(Flag flag, Incident.Status status, Series s, LongUnaryOperator millisOf, MeterConfig config,
            DamagesTerms terms) {
        int n = config.bucketsPerWindow();
        Period p = choose(s, flag.earliestStart(), flag.flagBucket(), n);
        long first = flag.flagBucket() - n + 1;
        long[] posts = new long[2 * n - 1];
        long[] requests = new long[2 * n - 1];
        for (int k = 0; k < posts.length; k++) {
            posts[k] = s.postsAt(first + k);
            requests[k] = s.requestsAt(first + k);
        }
        Incident.Evidence evidence = new Incident.Evidence(
                millisOf.applyAsLong(first), config.bucketMillis(), config.windowMillis(), config.threshold(),
                millisOf.applyAsLong(flag.earliestStart()), posts, requests,
                "damage period: the " + n + "-bucket run starting between earliestStart and the flag bucket"
                        + " with the most posts, earliest on ties; amount: " + terms.explain(p.posts()));
        return new Incident(flag.entity(), flag.sequence(), flag.flaggedAtMillis(), flag.flagCount(), status,
                millisOf.applyAsLong(p.start()), millisOf.applyAsLong(p.start() + n), p.posts(), p.requests(),
                terms.assess(p.posts()), evidence);
    }
}
