package dev.tollgate.cluster.redis;

import dev.tollgate.meter.MeterConfig;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The global windows of SPEC §9 in Redis (Cluster or a single Redis): this gateway ships its
 * absolute per-bucket counts of an entity, Redis max-merges them with every other gateway's and
 * answers the global figures, deciding the crossing of the threshold exactly once cluster-wide.
 * The server side is the {@code tollgate} Function library ({@code tollgate.lua}, where the
 * design is argued); this class is its client.
 *
 * <p>Every call may come from any thread. {@link #shipAll} pipelines ({@link ShipRound}): one
 * {@code FCALL} carries up to {@link ShipRound#MAX_ENTITIES_PER_CALL} entities of one hash slot,
 * every call is queued on a hand-flushed connection, flushed and awaited once per chunk of
 * {@link ShipRound#CHUNK} calls, so a round of 100,000 entities costs a few round trips, not
 * 100,000. A call that meets "Function not found" (a master without the library) reloads the
 * library and is retried once. Failures never throw
 * out of {@link #shipAll}: the entities missing from its answer were not applied, and the caller
 * (the {@link WindowShipper}) keeps and retries them; {@link #status()} says degraded.
 */
public final class GlobalWindows implements AutoCloseable {
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
    private static final Duration FINALIZATION = Duration.ofHours(24);

    /** Which client to use: {@code AUTO} asks a lone node whether it is a cluster node. */
    public enum Mode { AUTO, CLUSTER, SINGLE }

    /**
     * How to reach Redis: the nodes ({@code redis://host:port}, or {@code rediss://} for TLS), the
     * password ({@code null}: none; a password in a node's URI also works), the command timeout
     * and the client mode. The shipping cadence is the {@link WindowShipper}'s; the configuration
     * file's {@code cluster.redis} section is validated as a whole in {@code ClusterSettings}.
     */
    public record Settings(List<URI> nodes, String password, Duration commandTimeout, Mode mode) {
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
            if (commandTimeout == null || commandTimeout.isNegative() || commandTimeout.isZero()) {
                throw new IllegalArgumentException("cluster.redis.commandTimeout: " + commandTimeout + " (expected: a positive duration)");
            }
            Objects.requireNonNull(mode, "cluster.redis.mode");
        }

        /** The defaults of SPEC §9: a 2 s command timeout, no password, the client chosen by asking. */
        public static Settings of(List<URI> nodes) {
            return new Settings(nodes, null, Duration.ofSeconds(2), Mode.AUTO);
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
            long flagBucketMillis, long flagCount, long flaggedAtMillis, long allowance, List<BucketCounts> ahead) {
        public ShipReply {
            ahead = List.copyOf(ahead);
        }

        /** A paced answer where Redis held no more of this gateway than it shipped. */
        public ShipReply(String entity, long posts24h, long requests24h, int flagged, int openSequence, long flagBucketMillis,
                long flagCount, long flaggedAtMillis, long allowance) {
            this(entity, posts24h, requests24h, flagged, openSequence, flagBucketMillis, flagCount, flaggedAtMillis, allowance,
                    List.of());
        }

        /** An answer without pacing ({@code allowance} -1: the caller holds none). */
        public ShipReply(String entity, long posts24h, long requests24h, int flagged, int openSequence, long flagBucketMillis,
                long flagCount, long flaggedAtMillis) {
            this(entity, posts24h, requests24h, flagged, openSequence, flagBucketMillis, flagCount, flaggedAtMillis, -1);
        }
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
    private final Traffic traffic = new Traffic();
    private final ShipRound rounds;
    /** This process among the gateways: tells a restart of this node id from a second process using it. */
    private final String instance = java.util.UUID.randomUUID().toString();

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
        this.rounds = new ShipRound(link, health, traffic, clock, timeout, nodeId, bucketMillis, windowBuckets, threshold,
                keepMillis);
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
    public Map<String, ShipReply> shipAll(Map<String, List<BucketCounts>> shipments) {
        return shipAll(shipments, null, Long.MAX_VALUE).replies();
    }

    /**
     * Ships many entities in one pipelined round, paced ({@code pacing} not null: each answer
     * carries this gateway's allowance, see {@code tollgate.lua}), starting no chunk of calls
     * after {@code stopAtNanos} ({@link System#nanoTime()}). The answer holds the entities that
     * Redis applied; {@link Shipped#ok()} is false if any entity it tried failed (see
     * {@link #status()}); the entities it did not try (the deadline) are neither.
     */
    public Shipped shipAll(Map<String, List<BucketCounts>> shipments, Pacing pacing, long stopAtNanos) {
        Map<String, ShipReply> out = new LinkedHashMap<>();
        boolean ok = shipAll(shipments, out, pacing, stopAtNanos);
        return new Shipped(out, ok);
    }

    /** The answer of a paced round: the entities Redis applied, and whether every one tried was. */
    public record Shipped(Map<String, ShipReply> replies, boolean ok) {
    }

    /**
     * The pacing arguments of {@code tollgate_ship_paced}: how long an allowance lasts, and the
     * hot level (posts) above which an entity gets none.
     */
    public record Pacing(Duration grantLifetime, long hotPosts) {
    }

    /**
     * Calls {@code recalled} with each entity Redis recalls (see "Pacing" in {@code tollgate.lua}):
     * every gateway must ship it at once. Subscribes when the link connects, and again after the
     * subscription's connection was lost. On a Lettuce thread: keep it short.
     */
    public void onRecall(Consumer<String> recalled) {
        link.onRecall(key -> {
            String entity = entityOf(key);
            if (entity != null) {
                recalled.accept(entity);
            }
        });
    }

    private synchronized boolean shipAll(Map<String, List<BucketCounts>> shipments, Map<String, ShipReply> out, Pacing pacing,
            long stopAtNanos) {
        List<String> missing = new ArrayList<>();
        List<String> all = new ArrayList<>();
        shipments.forEach((e, b) -> {
            if (!b.isEmpty()) {
                all.add(e);
            }
        });
        if (all.isEmpty()) {
            return true;
        }
        boolean ok = rounds.round(all, shipments, out, missing, pacing, stopAtNanos);
        if (!missing.isEmpty()) {
            try {
                link.reloadLibrary();
                List<String> again = new ArrayList<>(missing);
                missing.clear();
                ok = rounds.round(again, shipments, out, missing, pacing, Long.MAX_VALUE) && ok;
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
        return ok;
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
        return traffic.commands();
    }

    /** Request bytes sent so far (the RESP encoding of every FCALL). */
    public long bytesSent() {
        return traffic.bytes();
    }

    /**
     * Whether another running process holds this gateway's node id: each gateway claims
     * {@code tg:node:{nodeId}} for {@code ttlMillis} with a random instance id at each flush.
     * Two processes with one node id (a copied configuration, the host-name default on a
     * replacement machine) would share every Redis field and the ledger's sequence; this is how
     * it is noticed. False if Redis cannot be asked now.
     */
    boolean nodeIdTakenElsewhere(long ttlMillis) {
        try {
            String holder = link.claim("tg:node:{" + nodeId + "}", instance, ttlMillis);
            return holder != null && !holder.equals(instance);
        } catch (RuntimeException e) {
            health.failure(e);
            return false;
        }
    }

    /**
     * Whether a master lost its data since the last call without the link noticing (see
     * {@code RedisLink.dataLost}); false if Redis cannot be asked now (a failing link announces
     * itself).
     */
    boolean dataLost() {
        try {
            return link.dataLost();
        } catch (RuntimeException e) {
            health.failure(e);
            return false;
        }
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
                traffic.count(function, keys, args);
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

    /** The entity of a key made by {@link #key}, or null if {@code key} is not one. */
    static String entityOf(String key) {
        if (key == null || !key.startsWith("tg:{") || key.length() < 8 || !key.startsWith("}:", key.length() - 3)) {
            return null;
        }
        int end = key.length() - 3;
        StringBuilder b = new StringBuilder(end);
        for (int i = 4; i < end; i++) {
            char c = key.charAt(i);
            if (c == '%') {
                if (i + 3 > end) {
                    return null;
                }
                switch (key.substring(i, i + 3)) {
                    case "%7B" -> b.append('{');
                    case "%7D" -> b.append('}');
                    case "%25" -> b.append('%');
                    default -> {
                        return null;
                    }
                }
                i += 2;
            } else if (c == '{' || c == '}' || c == '%') {
                return null;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

}
