package dev.tollgate.cluster.redis;

import dev.tollgate.cluster.redis.GlobalWindows.BucketCounts;
import dev.tollgate.cluster.redis.GlobalWindows.ShipReply;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pipelined pass of {@link GlobalWindows#shipAll}: the entities grouped by hash slot into
 * {@code FCALL tollgate_ship} calls, queued on the link's hand-flushed connection, flushed and
 * awaited once per chunk of {@link #CHUNK} calls, and the replies mapped back to entities.
 * Called under {@code GlobalWindows}' lock, by one thread at a time.
 */
final class ShipRound {
    private static final Logger log = LoggerFactory.getLogger(ShipRound.class);
    /**
     * Calls in flight at once; well under {@link RedisLink#REQUEST_QUEUE}, and few enough that the
     * last call of a chunk is answered within the command timeout even from a slow Redis (a
     * chunk of 8,192 on a CPU-starved machine outlived a 5 s timeout).
     */
    static final int CHUNK = 2_048;
    /**
     * Calls per chunk in a round with a deadline (the cold lane): the first chunk always goes, so
     * it is small enough (about 25 ms of Redis at 100 us a call) that the next tick's hot
     * entities never wait long behind it.
     */
    static final int BOUNDED_CHUNK = 256;
    /** Entities of one slot in one call at most. */
    static final int MAX_ENTITIES_PER_CALL = 32;
    /** Arguments per call at most (unless one entity alone has more: a full re-ship of a busy day). */
    static final int MAX_ARGS_PER_CALL = 4_096;

    private final RedisLink link;
    private final LinkHealth health;
    private final Traffic traffic;
    private final Clock clock;
    private final Duration timeout;
    private final String nodeId;
    private final long bucketMillis;
    private final long windowBuckets;
    private final long threshold;
    private final long keepMillis;

    ShipRound(RedisLink link, LinkHealth health, Traffic traffic, Clock clock, Duration timeout, String nodeId, long bucketMillis,
            long windowBuckets, long threshold, long keepMillis) {
        this.link = link;
        this.health = health;
        this.traffic = traffic;
        this.clock = clock;
        this.timeout = timeout;
        this.nodeId = nodeId;
        this.bucketMillis = bucketMillis;
        this.windowBuckets = windowBuckets;
        this.threshold = threshold;
        this.keepMillis = keepMillis;
    }

    /**
     * One pipelined pass, paced if {@code pacing} is not null, starting no chunk after
     * {@code stopAtNanos}; returns false if any entity it tried failed (other than for a missing
     * library, listed in {@code missing}).
     */
    boolean round(List<String> entities, Map<String, List<BucketCounts>> shipments, Map<String, ShipReply> out,
            List<String> missing, GlobalWindows.Pacing pacing, long stopAtNanos) {
        RedisClusterAsyncCommands<String, String> cmd;
        try {
            cmd = link.pipeline();
        } catch (RuntimeException e) {
            health.failure(e);
            return false;
        }
        boolean ok = true;
        long now = clock.millis();
        String cur = Long.toString(Math.floorDiv(now, bucketMillis));
        List<List<String>> calls = calls(entities, shipments);
        String function = pacing == null ? "tollgate_ship" : "tollgate_ship_paced";
        int size = stopAtNanos == Long.MAX_VALUE ? CHUNK : BOUNDED_CHUNK;
        for (int from = 0; from < calls.size(); from += size) {
            if (from > 0 && System.nanoTime() - stopAtNanos > 0) {
                break;
            }
            List<List<String>> chunk = calls.subList(from, Math.min(calls.size(), from + size));
            List<RedisFuture<List<Object>>> futures = new ArrayList<>(chunk.size());
            for (List<String> call : chunk) {
                String[] keys = new String[2 * call.size()];
                List<String> args = new ArrayList<>(8 + 4 * call.size());
                args.addAll(List.of(nodeId, cur, Long.toString(windowBuckets), Long.toString(threshold),
                        Long.toString(bucketMillis), Long.toString(now), Long.toString(keepMillis)));
                if (pacing != null) {
                    args.add(Long.toString(pacing.grantLifetime().toMillis()));
                    args.add(Long.toString(pacing.hotPosts()));
                }
                for (int e = 0; e < call.size(); e++) {
                    String entity = call.get(e);
                    keys[2 * e] = GlobalWindows.key(entity, 'w');
                    keys[2 * e + 1] = GlobalWindows.key(entity, 'i');
                    List<BucketCounts> buckets = shipments.get(entity);
                    args.add(Integer.toString(buckets.size()));
                    for (BucketCounts b : buckets) {
                        args.add(Long.toString(Math.floorDiv(b.bucketStartMillis(), bucketMillis)));
                        args.add(Long.toString(b.posts()));
                        args.add(Long.toString(b.requests()));
                    }
                }
                String[] a = args.toArray(String[]::new);
                traffic.count(function, keys, a);
                futures.add(cmd.fcall(function, ScriptOutputType.MULTI, keys, a));
            }
            link.flush();
            awaitAll(futures, timeout);
            for (int k = 0; k < chunk.size(); k++) {
                List<String> call = chunk.get(k);
                try {
                    List<Object> replies = futures.get(k).get();
                    for (int e = 0; e < call.size(); e++) {
                        @SuppressWarnings("unchecked")
                        List<Object> r = (List<Object>) replies.get(e);
                        out.put(call.get(e), shipReply(call.get(e), r));
                    }
                } catch (ExecutionException | java.util.concurrent.CancellationException e) {
                    if (Library.isMissing(e)) {
                        missing.addAll(call);
                    } else {
                        ok = false;
                        health.failure(e.getCause() != null ? e.getCause() : e);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    health.failure(e);
                    return false;
                }
            }
        }
        return ok;
    }

    /**
     * The FCALLs of a round: the entities of one slot go together (one call's fixed cost for all
     * of them), at most {@link #MAX_ENTITIES_PER_CALL} entities and about
     * {@link #MAX_ARGS_PER_CALL} arguments per call, so no call holds Redis for long.
     */
    private static List<List<String>> calls(List<String> entities, Map<String, List<BucketCounts>> shipments) {
        Map<Integer, List<String>> bySlot = new HashMap<>();
        for (String e : entities) {
            bySlot.computeIfAbsent(SlotHash.getSlot(GlobalWindows.key(e, 'w')), k -> new ArrayList<>()).add(e);
        }
        List<List<String>> calls = new ArrayList<>();
        for (List<String> group : bySlot.values()) {
            List<String> call = new ArrayList<>();
            int args = 0;
            for (String e : group) {
                int a = 1 + 3 * shipments.get(e).size();
                if (!call.isEmpty() && (call.size() >= MAX_ENTITIES_PER_CALL || args + a > MAX_ARGS_PER_CALL)) {
                    calls.add(call);
                    call = new ArrayList<>();
                    args = 0;
                }
                call.add(e);
                args += a;
            }
            calls.add(call);
        }
        return calls;
    }

    private static void awaitAll(List<? extends RedisFuture<?>> futures, Duration timeout) {
        CompletableFuture<?>[] all = futures.stream().map(f -> f.toCompletableFuture()).toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(all).get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            // each future's own failure is read by the caller
        } catch (TimeoutException e) {
            log.debug("Redis: a chunk outlived the command timeout; its late commands count as failed");
            futures.forEach(f -> f.cancel(false));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private ShipReply shipReply(String entity, List<Object> r) {
        long flagBucket = (Long) r.get(4);
        long flaggedAt = r.size() > 6 ? (Long) r.get(6) : -1;
        long allowance = r.size() > 7 ? (Long) r.get(7) : -1;
        List<BucketCounts> ahead = new ArrayList<>();
        if (r.size() > 8) {
            List<?> a = (List<?>) r.get(8);
            for (int i = 0; i + 2 < a.size(); i += 3) {
                ahead.add(new BucketCounts((Long) a.get(i) * bucketMillis, (Long) a.get(i + 1), (Long) a.get(i + 2)));
            }
        }
        long bucketStart = flagBucket < 0 ? -1 : flagBucket * bucketMillis;
        return new ShipReply(entity, (Long) r.get(0), (Long) r.get(1), ((Long) r.get(2)).intValue(),
                ((Long) r.get(3)).intValue(), bucketStart, (Long) r.get(5), flaggedAt < 0 ? bucketStart : flaggedAt, allowance,
                ahead);
    }
}
