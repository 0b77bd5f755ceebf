package dev.tollgate.cluster.redis;

import dev.tollgate.cluster.redis.GlobalWindows.BucketCounts;
import dev.tollgate.cluster.redis.GlobalWindows.ShipReply;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Consumer;

/**
 * When each entity's counts go to Redis (issue 12 item 9): the shipping cadence follows what
 * matters. One gateway's view, owned by its shipper thread (not thread-safe); also driven by the
 * cluster simulation in {@code benchmarks/}.
 *
 * <p>Three lanes:
 * <ul>
 *   <li>{@link Lane#NOW}, shipped at the next tick ({@code nearThresholdFlushInterval}): a hot
 *       entity (its global count above the hot level, 80 % of the threshold, or an incident
 *       open: as before), one this gateway alone counted past the hot level, one that went past
 *       the allowance Redis gave this gateway, and one Redis recalled.</li>
 *   <li>{@link Lane#NEXT_FLUSH}, shipped with the next flush ({@code flushInterval}): an entity
 *       this gateway holds no allowance for (first seen, or its allowance expired unused).</li>
 *   <li>{@link Lane#LATER}: an entity within its allowance waits until the allowance expires
 *       ({@code coldFlushInterval}, the grant lifetime) and is shipped then if it changed.</li>
 * </ul>
 *
 * <p>The bound. Redis cuts the allowances of all gateways from the room below the hot level, so
 * the true count of an entity is at most the hot level plus what gateways without an allowance
 * counted in the last flush interval, while everyone keeps to their allowance (see "Pacing" in
 * {@code tollgate.lua}). Whoever goes past makes Redis recall the others; so an entity becomes
 * hot on every gateway, and is shipped every tick, before its count can cross the threshold
 * unless it gains the last 20 % of the threshold within one flush interval plus two round trips
 * and a tick. Then the crossing is seen at most a flush interval, a tick and two round trips
 * after the crossing post (the recall's round trip added to the promise of SPEC §9); otherwise
 * within a tick and a round trip, as before. A lost recall (a failover of the node the
 * subscription is on) stretches it by at most one grant lifetime.
 *
 * <p>When there is more to ship than a tick allows. An expired allowance keeps limiting its
 * entity while it waits in the cold lane (past it: now), and {@link #HARD_AFTER_NANOS} after its
 * lifetime, before Redis forgets the allowance, the entity goes now whatever the lane's length;
 * the shipper orders the cold lane by {@link #growth} (most unshipped posts first), so an entity
 * that matters is not held behind a wave of light ones. Deadlines are dated from the start of
 * the round that got the allowance, as Redis dates it, and spread (see the constructor) so that
 * allowances granted together do not expire together.
 */
public final class Pacer {
    /** When an entity is to be shipped. */
    public enum Lane { NOW, NEXT_FLUSH, LATER }

    /**
     * One entity's allowance, whether it is hot or its allowance expired (due, waiting in the cold
     * lane), and what was last shipped of its two newest buckets.
     */
    private static final class Pace {
        long allowance;
        long deadlineNanos;
        long hardNanos;
        boolean hot;
        boolean expired;
        long newest = Long.MIN_VALUE;
        long newestPosts;
        long previous = Long.MIN_VALUE;
        long previousPosts;

        long shipped(long bucket) {
            return bucket == newest ? newestPosts : bucket == previous ? previousPosts : 0;
        }
    }

    /** A deadline: {@code hard} false, the allowance expired; true, Redis forgets it soon. */
    private record Deadline(String entity, long atNanos, boolean hard) {
    }

    /**
     * Redis keeps an allowance 5 s past its lifetime (GRANT_MARGIN in {@code tollgate.lua}, from
     * the start of the round that got it); an entity still unshipped this long after the start
     * goes now, whatever the cold lane's length: 2 s left for the tick, the round trip and clocks.
     */
    static final long HARD_AFTER_NANOS = 3_000_000_000L;

    private final long hotPosts;
    private final long lifetimeNanos;
    private final double spread;
    private final Map<String, Pace> paces = new HashMap<>();
    private final PriorityQueue<Deadline> deadlines = new PriorityQueue<>((a, b) -> Long.compare(a.atNanos, b.atNanos));

    /**
     * @param hotPosts      the hot level: above it (globally, or in this gateway's own count) an
     *                      entity is shipped every tick
     * @param lifetimeNanos how long an allowance lasts: an entity within it is shipped this often
     */
    public Pacer(long hotPosts, long lifetimeNanos) {
        this(hotPosts, lifetimeNanos, 0);
    }

    /**
     * @param spread a fraction (0 to 0.5) of the lifetime by which each entity's deadline comes
     *               earlier, fixed per entity (its hash): allowances granted in one round do not
     *               all expire in the same tick
     */
    public Pacer(long hotPosts, long lifetimeNanos, double spread) {
        if (spread < 0 || spread > 0.5) {
            throw new IllegalArgumentException("spread: " + spread + " (expected: 0 to 0.5)");
        }
        this.hotPosts = hotPosts;
        this.lifetimeNanos = lifetimeNanos;
        this.spread = spread;
    }

    /** The lane of an entity whose unshipped buckets (absolute counts, newest values) are {@code buckets}. */
    public Lane classify(String entity, Collection<BucketCounts> buckets) {
        Pace p = paces.get(entity);
        long local = 0;
        for (BucketCounts b : buckets) {
            local += b.posts();
        }
        if (local > hotPosts || (p != null && (p.hot || growth(entity, buckets) > p.allowance))) {
            return Lane.NOW;
        }
        return p == null ? Lane.NEXT_FLUSH : Lane.LATER;
    }

    /** A recall: the entity is shipped at once, and every tick until Redis answers it is not hot. */
    public void recalled(String entity, long nowNanos) {
        Pace p = paces.computeIfAbsent(entity, k -> new Pace());
        p.hot = true;
        p.expired = false;
        p.allowance = 0;
        p.deadlineNanos = nowNanos + lifetimeNanos;
        deadlines.add(new Deadline(entity, p.deadlineNanos, false));
    }

    /**
     * Redis applied {@code shipped} (the buckets sent) and answered {@code reply}, in a round that
     * started at {@code startNanos} (Redis dates the allowance from then).
     */
    public void shipped(String entity, Collection<BucketCounts> shipped, ShipReply reply, long startNanos) {
        Pace p = paces.computeIfAbsent(entity, k -> new Pace());
        p.hot = reply.posts24h() > hotPosts || reply.openSequence() != 0;
        p.expired = false;
        p.allowance = Math.max(0, reply.allowance());
        p.deadlineNanos = startNanos + lifetimeNanos - (long) (lifetimeNanos * spread * ((entity.hashCode() & 0xffff) / 65536.0));
        p.hardNanos = startNanos + lifetimeNanos + HARD_AFTER_NANOS;
        for (BucketCounts b : shipped) {
            long bucket = b.bucketStartMillis();
            if (bucket == p.newest) {
                p.newestPosts = Math.max(p.newestPosts, b.posts());
            } else if (bucket == p.previous) {
                p.previousPosts = Math.max(p.previousPosts, b.posts());
            } else if (bucket > p.newest) {
                p.previous = p.newest;
                p.previousPosts = p.newestPosts;
                p.newest = bucket;
                p.newestPosts = b.posts();
            } else if (bucket > p.previous) {
                p.previous = bucket;
                p.previousPosts = b.posts();
            }
        }
        deadlines.add(new Deadline(entity, p.deadlineNanos, false));
    }

    /** Posts counted by this gateway and not shipped yet, as far as the pacer knows (all, for an entity it has no pace of). */
    public long growth(String entity, Collection<BucketCounts> buckets) {
        Pace p = paces.get(entity);
        long growth = 0;
        for (BucketCounts b : buckets) {
            growth += p == null ? b.posts() : Math.max(0, b.posts() - p.shipped(b.bucketStartMillis()));
        }
        return growth;
    }

    /** Forgets an entity whose allowance expired with nothing unshipped: its next post is a first sight. */
    public void forget(String entity) {
        Pace p = paces.get(entity);
        if (p != null && p.expired) {
            paces.remove(entity);
        }
    }

    /**
     * Hands {@code due} every entity whose allowance expired by {@code nowNanos}: the shipper ships
     * it in the cold lane if it has unshipped counts, else {@link #forget}s it. It keeps its
     * allowance as a limit meanwhile ({@link #classify}: past it, now), and if it is still
     * unshipped {@link #HARD_AFTER_NANOS} after its lifetime, when Redis is about to forget the
     * allowance, {@code now} gets it: from then its allowance is 0. A hot entity keeps its lane.
     */
    public void expire(long nowNanos, Consumer<String> due, Consumer<String> now) {
        while (!deadlines.isEmpty() && deadlines.peek().atNanos - nowNanos <= 0) {
            Deadline d = deadlines.poll();
            Pace p = paces.get(d.entity);
            if (p == null) {
                continue;
            }
            if (d.hard) {
                if (p.expired && p.hardNanos == d.atNanos) {
                    p.allowance = 0;
                    now.accept(d.entity);
                }
                continue;
            }
            if (p.deadlineNanos != d.atNanos || p.expired) {
                continue; // superseded by a later shipment
            }
            if (p.hot) {
                p.deadlineNanos = nowNanos + lifetimeNanos;
                deadlines.add(new Deadline(d.entity, p.deadlineNanos, false));
            } else {
                p.expired = true;
                deadlines.add(new Deadline(d.entity, p.hardNanos, true));
            }
            due.accept(d.entity);
        }
    }

    /** Entities with an allowance or hot now. */
    public int size() {
        return paces.size();
    }
}
