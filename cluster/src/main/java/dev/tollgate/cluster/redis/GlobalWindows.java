package dev.tollgate.cluster.redis;

import dev.tollgate.meter.MeterConfig;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The global windows of SPEC §9 in Redis (Cluster or a single Redis): this gateway ships its
 * absolute per-bucket counts of an entity, Redis max-merges them with every other gateway's and
 * answers the global figures, deciding the crossing of the threshold exactly once cluster-wide.
 * The server side is the {@code tollgate} Function library ({@code tollgate.lua}, where the
 * design is argued); this class is its client.
 *
 * <p>Every call may come from any thread. {@link #shipAll} pipelines: it groups the entities by
 * hash slot (one {@code FCALL} carries up to {@link #MAX_ENTITIES_PER_CALL} entities of one slot),
 * queues every call on a hand-flushed connection, flushes and waits once per chunk of
 * {@link #CHUNK} calls, so a round of 100,000 entities costs a few round trips, not 100,000. A call that meets "Function not found"
 * (a master without the library) reloads the library and is retried once. Failures never throw
 * out of {@link #shipAll}: the entities missing from its answer were not applied, and the caller
 * (the {@link WindowShipper}) keeps and retries them; {@link #status()} says degraded.
 */
public final class GlobalWindows implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GlobalWindows.class);
    /** Commands in flight at once in {@link #shipAll}; well under {@link RedisLink#REQUEST_QUEUE}. */
    static final int CHUNK = 8_192;
    /** Entities of one slot in one call at most. */
    static final int MAX_ENTITIES_PER_CALL = 32;
    /** Arguments per call at most (unless one entity alone has more: a full re-ship of a busy day). */
    static final int MAX_ARGS_PER_CALL = 4_096;
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
    private static final Duration FINALIZATION = Duration.ofHours(24);

    /** Which client to use: {@code AUTO} asks a lone node whether it is a cluster node. */
    public enum Mode { AUTO, CLUSTER, SINGLE }

    /**
     * The {@code cluster.redis} settings: the nodes ({@code redis://host:port}, or
     * {@code rediss://} for TLS), the flush intervals, the password ({@code null}: none; a
     * password in a node's URI also works), the command timeout and the client mode.
     */
    public record Settings(List<URI> nodes, Duration flushInterval, Duration nearThresholdFlushInterval,
            String password, Duration commandTimeout, Mode mode) {
        public Settings {
            if (nodes == null || nodes.isEmpty()) {
                throw new IllegalArgumentException("cluster.redis.nodes: empty (expected: at least one redis://host:port)");
            }
            for (URI u : nodes) {
                if (u == null || !("redis".equals(u.getScheme()) || "rediss".equals(u.getScheme()))
                        || u.getHost() == null || u.getPort() <= 0) {
                    throw new IllegalArgumentException("cluster.redis.nodes: " + u + " (expected: redis://host:port)");
                }
            }
            nodes = List.copyOf(nodes);
            positive("cluster.redis.flushInterval", flushInterval);
            positive("cluster.redis.nearThresholdFlushInterval", nearThresholdFlushInterval);
            positive("cluster.redis.commandTimeout", commandTimeout);
            if (nearThresholdFlushInterval.compareTo(flushInterval) > 0) {
                throw new IllegalArgumentException("cluster.redis.nearThresholdFlushInterval: " + nearThresholdFlushInterval
                        + " (expected: at most flushInterval " + flushInterval + ")");
            }
            Objects.requireNonNull(mode, "cluster.redis.mode");
        }

        /** The defaults of SPEC §9: 1 s flush, 250 ms near the threshold, 2 s command timeout, no password. */
        public static Settings of(List<URI> nodes) {
            return new Settings(nodes, Duration.ofSeconds(1), Duration.ofMillis(250), null, Duration.ofSeconds(2), Mode.AUTO);
        }

        private static void positive(String key, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(key + ": " + d + " (expected: a positive duration)");
            }
        }
    }

    /** One bucket of one entity: its start and the posts and requests in it. */
    public record BucketCounts(long bucketStartMillis, long posts, long requests) {
    }

    /**
     * Redis's answer to a shipment: the global sliding counts now, {@code flagged} = the incident
     * sequence this call raised (0: it raised none; exactly one caller ever gets a given one),
     * {@code openSequence} = the open incident (0: none), its flag bucket (-1: none) and count.
     */
    public record ShipReply(String entity, long posts24h, long requests24h, int flagged, int openSequence,
            long flagBucketMillis, long flagCount, long flaggedAtMillis) {
    }

    /** The global per-bucket counts of a range (buckets with traffic, in time order) and the gateways that contributed. */
    public record Series(String entity, List<BucketCounts> buckets, List<String> nodes) {
    }

    /**
     * The link's health: {@code up} unless the last exchange failed (a link that never exchanged
     * yet is up, with {@code lastSuccess} null); {@code since} = when it last changed;
     * {@code lastSuccess} = the last successful exchange; errors so far, the last one's text.
     */
    public record Status(boolean up, Instant since, Instant lastSuccess, long errors, String lastError) {
    }

    /** A call that could not be applied (Redis unreachable, timed out, refused). */
    public static final class UnavailableException extends RuntimeException {
        UnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final String nodeId;
    private final long bucketMillis;
    private final long windowBuckets;
    private final long threshold;
    private final long keepMillis;
    private final Clock clock;
    private final Duration timeout;
    private final RedisLink link;
    private final LinkHealth health;
    private final AtomicLong commands = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();

    public GlobalWindows(Settings settings, String nodeId, MeterConfig meter, Clock clock) {
        if (nodeId == null || !NODE_ID.matcher(nodeId).matches()) {
            throw new IllegalArgumentException("cluster.nodeId: " + nodeId
                    + " (expected: 1 to 64 letters, digits, '.', '_', ':' or '-')");
        }
        this.nodeId = nodeId;
        this.bucketMillis = meter.bucket().toMillis();
        this.windowBuckets = meter.window().toMillis() / bucketMillis;
        this.threshold = meter.threshold();
        this.keepMillis = meter.window().toMillis() + FINALIZATION.toMillis();
        this.clock = clock;
        this.timeout = settings.commandTimeout();
        this.health = new LinkHealth(clock);
        List<RedisURI> uris = new ArrayList<>();
        for (URI u : settings.nodes()) {
            RedisURI r = RedisURI.create(u);
            if (settings.password() != null) {
                r.setAuthentication(settings.password().toCharArray());
            }
            r.setTimeout(settings.commandTimeout());
            uris.add(r);
        }
        this.link = new RedisLink(uris, settings.mode(), settings.commandTimeout());
    }

    public String nodeId() {
        return nodeId;
    }

    /** Ships one entity's buckets; throws {@link UnavailableException} if Redis did not apply it. */
    public ShipReply ship(String entity, List<BucketCounts> buckets) {
        if (buckets.isEmpty()) {
            throw new IllegalArgumentException("buckets of " + entity + ": none (expected: at least one bucket to ship)");
        }
        ShipReply r = shipAll(Map.of(entity, buckets)).get(entity);
        if (r == null) {
            throw new UnavailableException("Redis: shipment of " + entity + " not applied: " + health.lastError(), null);
        }
        return r;
    }

    /**
     * Ships many entities in one pipelined round. The answer holds the entities that Redis
     * applied; the others failed (see {@link #status()}) and must be shipped again.
     */
    public synchronized Map<String, ShipReply> shipAll(Map<String, List<BucketCounts>> shipments) {
        Map<String, ShipReply> out = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        List<String> all = new ArrayList<>();
        shipments.forEach((e, b) -> {
            if (!b.isEmpty()) {
                all.add(e);
            }
        });
        if (all.isEmpty()) {
            return out;
        }
        boolean ok = round(all, shipments, out, missing);
        if (!missing.isEmpty()) {
            try {
                link.reloadLibrary();
                List<String> again = new ArrayList<>(missing);
                missing.clear();
                ok = round(again, shipments, out, missing) && ok;
            } catch (RuntimeException e) {
                ok = false;
                health.failure(e);
            }
            if (!missing.isEmpty()) {
                health.failure(new IllegalStateException("tollgate function library still missing after a reload"));
                ok = false;
            }
        }
        if (ok) {
            health.success();
        }
        return out;
    }

    /** One pipelined pass; returns false if any entity failed (other than for a missing library, listed in {@code missing}). */
    private boolean round(List<String> entities, Map<String, List<BucketCounts>> shipments, Map<String, ShipReply> out,
            List<String> missing) {
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
        for (int from = 0; from < calls.size(); from += CHUNK) {
            List<List<String>> chunk = calls.subList(from, Math.min(calls.size(), from + CHUNK));
            List<RedisFuture<List<Object>>> futures = new ArrayList<>(chunk.size());
            for (List<String> call : chunk) {
                String[] keys = new String[2 * call.size()];
                List<String> args = new ArrayList<>(8 + 4 * call.size());
                args.addAll(List.of(nodeId, cur, Long.toString(windowBuckets), Long.toString(threshold),
                        Long.toString(bucketMillis), Long.toString(now), Long.toString(keepMillis)));
                for (int e = 0; e < call.size(); e++) {
                    String entity = call.get(e);
                    keys[2 * e] = key(entity, 'w');
                    keys[2 * e + 1] = key(entity, 'i');
                    List<BucketCounts> buckets = shipments.get(entity);
                    args.add(Integer.toString(buckets.size()));
                    for (BucketCounts b : buckets) {
                        args.add(Long.toString(Math.floorDiv(b.bucketStartMillis(), bucketMillis)));
                        args.add(Long.toString(b.posts()));
                        args.add(Long.toString(b.requests()));
                    }
                }
                String[] a = args.toArray(String[]::new);
                count("tollgate_ship", keys, a);
                futures.add(cmd.fcall("tollgate_ship", ScriptOutputType.MULTI, keys, a));
            }
            link.flush();
            awaitAll(futures);
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
            bySlot.computeIfAbsent(SlotHash.getSlot(key(e, 'w')), k -> new ArrayList<>()).add(e);
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

    /**
     * Adopts an incident raised elsewhere (a gateway's certain local flag while Redis was away),
     * if none is open in Redis and it is newer than the last one Redis knows.
     */
    public void open(String entity, int sequence, long flagBucketMillis, long flagCount) {
        call("tollgate_open", entity, new String[] {key(entity, 'i')}, Integer.toString(sequence),
                Long.toString(Math.floorDiv(flagBucketMillis, bucketMillis)), Long.toString(flagCount), Long.toString(flagBucketMillis));
    }

    /** Closes an incident with its final period [start, end): those posts never count toward another flag. */
    public void close(String entity, int sequence, long startMillis, long endMillis) {
        call("tollgate_close", entity, new String[] {key(entity, 'i')}, Integer.toString(sequence),
                Long.toString(Math.floorDiv(startMillis, bucketMillis)), Long.toString(Math.floorDiv(endMillis, bucketMillis)));
    }

    /** The global per-bucket posts and requests of [from, to) and the gateways that contributed. */
    public Series series(String entity, long fromMillis, long toMillis) {
        Object reply = call("tollgate_series", entity, new String[] {key(entity, 'w')},
                Long.toString(Math.floorDiv(fromMillis, bucketMillis)), Long.toString(Math.floorDiv(toMillis, bucketMillis)));
        List<?> list = (List<?>) reply;
        List<String> nodes = new ArrayList<>();
        for (Object n : (List<?>) list.get(0)) {
            nodes.add(String.valueOf(n));
        }
        nodes.sort(Comparator.naturalOrder());
        List<BucketCounts> buckets = new ArrayList<>();
        for (int i = 1; i + 2 < list.size(); i += 3) {
            buckets.add(new BucketCounts((Long) list.get(i) * bucketMillis, (Long) list.get(i + 1), (Long) list.get(i + 2)));
        }
        buckets.sort(Comparator.comparingLong(BucketCounts::bucketStartMillis));
        return new Series(entity, buckets, nodes);
    }

    public Status status() {
        return health.status();
    }

    /** FCALLs sent so far (a shipping call carries the entities of one slot). */
    public long commands() {
        return commands.get();
    }

    /** Request bytes sent so far (the RESP encoding of every FCALL). */
    public long bytesSent() {
        return bytes.get();
    }

    /** Changes whenever Redis may have lost acknowledged writes (a reconnect, a topology change): re-ship then. */
    long generation() {
        return link.generation();
    }

    @Override
    public void close() {
        link.close();
    }

    private Object call(String function, String entity, String[] keys, String... args) {
        for (int attempt = 0; ; attempt++) {
            try {
                RedisClusterAsyncCommands<String, String> cmd = link.commands();
                count(function, keys, args);
                RedisFuture<Object> f = cmd.fcall(function, ScriptOutputType.MULTI, keys, args);
                Object r = f.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
                health.success();
                return r;
            } catch (ExecutionException e) {
                if (attempt == 0 && Library.isMissing(e)) {
                    link.reloadLibrary();
                    continue;
                }
                throw fail(function, entity, e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw fail(function, entity, e);
            } catch (TimeoutException | RuntimeException e) {
                throw fail(function, entity, e);
            }
        }
    }

    private UnavailableException fail(String function, String entity, Throwable e) {
        health.failure(e);
        return new UnavailableException("Redis: " + function + " of " + entity + " failed: " + e.getMessage(), e);
    }

    private void awaitAll(List<? extends RedisFuture<?>> futures) {
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
        long bucketStart = flagBucket < 0 ? -1 : flagBucket * bucketMillis;
        return new ShipReply(entity, (Long) r.get(0), (Long) r.get(1), ((Long) r.get(2)).intValue(),
                ((Long) r.get(3)).intValue(), bucketStart, (Long) r.get(5), flaggedAt < 0 ? bucketStart : flaggedAt);
    }

    /**
     * The key of one of an entity's structures. The entity is the hash tag, so all its keys share
     * a slot; braces and '%' in it are escaped so the tag always ends where the entity does.
     */
    static String key(String entity, char kind) {
        StringBuilder b = new StringBuilder(entity.length() + 8).append("tg:{");
        for (int i = 0; i < entity.length(); i++) {
            char c = entity.charAt(i);
            switch (c) {
                case '{' -> b.append("%7B");
                case '}' -> b.append("%7D");
                case '%' -> b.append("%25");
                default -> b.append(c);
            }
        }
        return b.append("}:").append(kind).toString();
    }

    /** Counts one command and its RESP request size: {@code *N}, then {@code $len} + data per argument. */
    private void count(String function, String[] keys, String[] args) {
        long n = 3 + keys.length + args.length;
        long size = 3 + digits(n) + bulk("FCALL") + bulk(function) + bulk(Integer.toString(keys.length));
        for (String k : keys) {
            size += bulk(k);
        }
        for (String a : args) {
            size += bulk(a);
        }
        commands.incrementAndGet();
        bytes.addAndGet(size);
    }

    private static long bulk(String s) {
        int len = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            len += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3;
        }
        return 5 + digits(len) + len;
    }

    private static int digits(long n) {
        return Long.toString(n).length();
    }
}
