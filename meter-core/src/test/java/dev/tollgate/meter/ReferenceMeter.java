package dev.tollgate.meter;

import dev.tollgate.meter.damages.DamagesTerms;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The slow, obviously correct meter: a list of timestamped records per entity, and SPEC §5
 * applied by brute force at every event. Same event order as {@link Meter}: on a record,
 * finalize a due period (and check for a flag if it did), add, check; on a tick or a read,
 * finalize a due period, then check.
 */
final class ReferenceMeter {
    record Rec(long bucket, long posts, long requests) {
    }

    record Ref(String entity, int sequence, long flaggedAt, long flagCount, Incident.Status status,
               long periodStart, long periodEnd, long posts, long requests, String amount) {
    }

    private static final class Entity {
        final List<Rec> records = new ArrayList<>();
        long prevEnd = Long.MIN_VALUE;
        int sequence;
        long openFlagBucket;
        long openFlagAt = -1;
        long openFlagCount;
    }

    private final MeterConfig config;
    private final DamagesTerms terms;
    private final int n;
    private final Map<String, Entity> entities = new HashMap<>();
    final List<Ref> finals = new ArrayList<>();

    ReferenceMeter(MeterConfig config, DamagesTerms terms) {
        this.config = config;
        this.terms = terms;
        this.n = config.bucketsPerWindow();
    }

    void record(String id, long posts, long requests, long t) {
        Entity e = entities.computeIfAbsent(id, k -> new Entity());
        if (finalizeIfDue(id, e, t)) {
            check(e, t);
        }
        e.records.add(new Rec(config.bucketOf(t), posts, requests));
        check(e, t);
    }

    void tick(long t) {
        for (Map.Entry<String, Entity> en : entities.entrySet()) {
            if (en.getValue().openFlagAt >= 0) {
                finalizeIfDue(en.getKey(), en.getValue(), t);
                check(en.getValue(), t);
            }
        }
    }

    long posts24h(String id, long t) {
        Entity e = entities.get(id);
        if (e == null) {
            return 0;
        }
        finalizeIfDue(id, e, t);
        check(e, t);
        long c = config.bucketOf(t);
        return sum(e, c - n + 1, c, false);
    }

    boolean flagged(String id) {
        Entity e = entities.get(id);
        return e != null && e.openFlagAt >= 0;
    }

    List<Ref> incidents() {
        List<Ref> all = new ArrayList<>(finals);
        entities.forEach((id, e) -> {
            if (e.openFlagAt >= 0) {
                all.add(period(id, e, Incident.Status.PROVISIONAL));
            }
        });
        all.sort(java.util.Comparator.comparingLong(Ref::flaggedAt).thenComparing(Ref::entity));
        return all;
    }

    private long sum(Entity e, long from, long to, boolean requests) {
        long total = 0;
        for (Rec r : e.records) {
            if (r.bucket >= from && r.bucket <= to) {
                total += requests ? r.requests : r.posts;
            }
        }
        return total;
    }

    private void check(Entity e, long t) {
        if (e.openFlagAt >= 0) {
            return;
        }
        long c = config.bucketOf(t);
        long unassigned = sum(e, Math.max(c - n + 1, e.prevEnd), c, false);
        if (unassigned > config.threshold()) {
            e.sequence++;
            e.openFlagBucket = c;
            e.openFlagAt = t;
            e.openFlagCount = unassigned;
        }
    }

    private boolean finalizeIfDue(String id, Entity e, long t) {
        if (e.openFlagAt < 0 || t < e.openFlagAt + config.windowMillis()) {
            return false;
        }
        Ref fin = period(id, e, Incident.Status.FINAL);
        finals.add(fin);
        e.prevEnd = config.bucketOf(fin.periodEnd);
        e.openFlagAt = -1;
        return true;
    }

    private Ref period(String id, Entity e, Incident.Status status) {
        long f = e.openFlagBucket;
        long lo = Math.max(e.prevEnd, f - n + 1);
        long best = -1;
        long bestStart = lo;
        for (long s = lo; s <= f; s++) {
            long posts = sum(e, s, s + n - 1, false);
            if (posts > best) {
                best = posts;
                bestStart = s;
            }
        }
        long w = config.bucketMillis();
        return new Ref(id, e.sequence, e.openFlagAt, e.openFlagCount, status, bestStart * w, (bestStart + n) * w,
                best, sum(e, bestStart, bestStart + n - 1, true), terms.assess(best).plain());
    }

    static Ref of(Incident i) {
        return new Ref(i.entity(), i.sequence(), i.flaggedAtMillis(), i.flagCount(), i.status(), i.periodStartMillis(),
                i.periodEndMillis(), i.posts(), i.requests(), i.amount().plain());
    }
}
