package dev.tollgate.cluster.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.cluster.event.ClusterTopologyChangedEvent;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.event.connection.ConnectionActivatedEvent;
import io.lettuce.core.event.connection.ReconnectAttemptEvent;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;

/**
 * The Lettuce side of {@link GlobalWindows}: one connection, to a Redis Cluster or to a single
 * Redis, opened lazily (Redis may be down when the gateway starts: the first round that reaches
 * it connects) and kept by Lettuce (auto-reconnect; in a cluster, periodic and adaptive topology
 * refresh, so a failover's new master is found by itself).
 *
 * <p>Threads: {@link #commands()} and {@link #reloadLibrary()} are called by one thread at a time
 * (its methods are synchronized); Lettuce's event bus thread only bumps {@link #generation()}
 * and clears {@code libraryChecked}, both safe to race: at worst the library is checked once
 * more than needed.
 *
 * <p>Choice of client: with several nodes, or with {@code Mode.CLUSTER}, the cluster client; with
 * one node in {@code Mode.AUTO} the node is asked ({@code INFO cluster}) once it answers, and a
 * cluster node gets the cluster client, a plain Redis the standalone one.
 */
final class RedisLink implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RedisLink.class);
    /** Commands buffered per connection at most; a round never sends more at once ({@link ShipRound#CHUNK}). */
    static final int REQUEST_QUEUE = 32_768;
    /** Where {@code tollgate_ship_paced} publishes the window key of an entity every gateway must ship at once. */
    static final String RECALL_CHANNEL = "tollgate:recall";

    private final List<RedisURI> uris;
    private final GlobalWindows.Mode mode;
    private final Duration timeout;
    private final ClientResources resources;
    private final Disposable events;
    private final AtomicLong generation = new AtomicLong();
    /**
     * Set by a reconnect attempt: the next activated connection is a reconnect. Plain activations
     * are not enough, the cluster's topology refresh opens (and closes) a connection to every
     * node every refresh period, which must not trigger a full re-ship.
     */
    private final AtomicBoolean reconnecting = new AtomicBoolean();
    private volatile boolean libraryChecked;

    private RedisClusterClient clusterClient;
    private RedisClient singleClient;
    private StatefulRedisClusterConnection<String, String> cluster;
    private StatefulRedisConnection<String, String> single;
    /** A second connection, flushed by hand, for pipelined rounds ({@link #pipeline()}). */
    private StatefulConnection<String, String> pipe;
    private RedisClusterAsyncCommands<String, String> pipeCommands;
    /** Told the window key of every recall published (see "Pacing" in {@code tollgate.lua}); null: not listening. */
    private volatile Consumer<String> recalls;
    /** The marker of each master (by its first slot; -1: a single Redis) as last read ({@link #dataLost()}). */
    private volatile Map<Integer, String> markers = Map.of();
    private final Map<Integer, String> markerKeys = new java.util.concurrent.ConcurrentHashMap<>();
    private StatefulRedisPubSubConnection<String, String> recallConnection;

    RedisLink(List<RedisURI> uris, GlobalWindows.Mode mode, Duration timeout) {
        this.uris = List.copyOf(uris);
        this.mode = mode;
        this.timeout = timeout;
        this.resources = DefaultClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(1).build();
        this.events = resources.eventBus().get().subscribe(e -> {
            if (e instanceof ReconnectAttemptEvent) {
                reconnecting.set(true);
            } else if (e instanceof ClusterTopologyChangedEvent
                    || (e instanceof ConnectionActivatedEvent && reconnecting.getAndSet(false))) {
                libraryChecked = false;
                generation.incrementAndGet();
            }
        });
    }

    /**
     * Changes each time a connection is re-established after it was lost, or the cluster's
     * topology changes (a failover's new master): the moments after which Redis may miss writes
     * it acknowledged.
     */
    long generation() {
        return generation.get();
    }

    /** The commands, connecting and checking the function library first if needed; throws if Redis cannot be reached. */
    synchronized RedisClusterAsyncCommands<String, String> commands() {
        if (cluster == null && single == null) {
            connect();
        }
        if (!libraryChecked) {
            libraryChecked = true;
            try {
                loadLibrary(false);
            } catch (RuntimeException e) {
                libraryChecked = false;
                throw e;
            }
        }
        return cluster != null ? cluster.async() : single.async();
    }

    /**
     * The commands of a connection that writes nothing until {@link #flush()}: a round queues all
     * its FCALLs, then sends them in a few large writes instead of one write and one event-loop
     * wake-up per command (measured: about ten times the commands per second on a busy machine).
     * Only for {@code GlobalWindows.shipAll}, which holds its lock while it queues and flushes.
     */
    synchronized RedisClusterAsyncCommands<String, String> pipeline() {
        commands();
        listenForRecalls();
        if (pipe == null) {
            if (cluster != null) {
                StatefulRedisClusterConnection<String, String> c = clusterClient.connect();
                pipeCommands = c.async();
                pipe = c;
            } else {
                StatefulRedisConnection<String, String> c = singleClient.connect();
                pipeCommands = c.async();
                pipe = c;
            }
            pipe.setAutoFlushCommands(false);
        }
        return pipeCommands;
    }

    /** From now on tells {@code recalled} the window key of every recall (subscribing with the next round). */
    void onRecall(Consumer<String> recalled) {
        this.recalls = recalled;
    }

    /**
     * Subscribes to the recall channel if someone listens and no subscription is open: at the
     * first round, and after its connection was lost for good (its node gone in a failover;
     * Lettuce re-subscribes by itself after a plain reconnect). A classic PUBLISH reaches the
     * subscribers of every node of a cluster, so one subscription on any node hears them all.
     * A failure only logs: a missed recall costs at most one grant lifetime.
     */
    private void listenForRecalls() {
        Consumer<String> listener = recalls;
        if (listener == null || (recallConnection != null && recallConnection.isOpen())) {
            return;
        }
        if (recallConnection != null) {
            recallConnection.closeAsync();
            recallConnection = null;
        }
        try {
            StatefulRedisPubSubConnection<String, String> c = cluster != null ? clusterClient.connectPubSub() : singleClient.connectPubSub();
            c.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    listener.accept(message);
                }
            });
            c.sync().subscribe(RECALL_CHANNEL);
            recallConnection = c;
        } catch (RuntimeException e) {
            log.warn("Redis: cannot subscribe to {} ({}); recalls wait for the grant lifetime", RECALL_CHANNEL, e.toString());
        }
    }

    /**
     * Whether a master lost its data since the last call, unannounced (a {@code FLUSHALL}, a
     * restart without persistence between two exchanges): each master holds a marker key, one
     * of its slots', with a random value set by whichever gateway found it missing; a marker
     * missing or changed since this gateway last read it means the data around it went too, and
     * every gateway re-ships everything. One {@code GET} per master. The first call only learns
     * the markers (the shipper re-ships everything at start anyway). Throws if Redis fails.
     */
    boolean dataLost() {
        RedisClusterCommands<String, String> sync = syncCommands();
        List<Integer> slots = new ArrayList<>();
        synchronized (this) {
            if (cluster != null) {
                for (RedisClusterNode node : cluster.getPartitions()) {
                    if (node.is(RedisClusterNode.NodeFlag.UPSTREAM) && !node.getSlots().isEmpty()) {
                        slots.add(node.getSlots().get(0));
                    }
                }
            }
        }
        // the reads run outside the lock: during a failover they may wait a command timeout each,
        // and the admin API's reads must not wait behind them
        Map<Integer, String> now = new HashMap<>();
        if (slots.isEmpty()) {
            now.put(-1, marker(sync, "tg:alive"));
        }
        for (int slot : slots) {
            now.put(slot, marker(sync, markerKey(slot)));
        }
        boolean lost = false;
        for (Map.Entry<Integer, String> m : now.entrySet()) {
            String before = markers.get(m.getKey());
            lost |= before != null && !before.equals(m.getValue());
        }
        markers = now;
        return lost;
    }

    /** Blocking commands on the link's connection, connecting first if needed; throws if Redis cannot be reached. */
    private synchronized RedisClusterCommands<String, String> syncCommands() {
        commands();
        return cluster != null ? cluster.sync() : single.sync();
    }

    /**
     * Claims {@code key} for {@code instance} for {@code ttlMillis} (or extends its claim); answers
     * the instance holding it now: {@code instance}, another one, or null (it just expired: ours
     * at the next call). Throws if Redis fails.
     */
    String claim(String key, String instance, long ttlMillis) {
        RedisClusterCommands<String, String> c = syncCommands(); // and the calls outside the lock, as in dataLost
        if ("OK".equals(c.set(key, instance, io.lettuce.core.SetArgs.Builder.nx().px(ttlMillis)))) {
            return instance;
        }
        String holder = c.get(key);
        if (instance.equals(holder)) {
            c.pexpire(key, ttlMillis);
        }
        return holder;
    }

    private static String marker(RedisClusterCommands<String, String> c, String key) {
        String v = c.get(key);
        if (v == null) {
            c.set(key, java.util.UUID.randomUUID().toString(), io.lettuce.core.SetArgs.Builder.nx());
            v = c.get(key);
        }
        return v;
    }

    /** A key of the given hash slot: {@code tg:alive:{n}} for the first n that hashes there. */
    private String markerKey(int slot) {
        return markerKeys.computeIfAbsent(slot, s -> {
            for (int n = 0; ; n++) {
                String key = "tg:alive:{" + n + "}";
                if (SlotHash.getSlot(key) == s) {
                    return key;
                }
            }
        });
    }

    /** Sends what {@link #pipeline()}'s commands queued. */
    synchronized void flush() {
        if (pipe != null) {
            pipe.flushCommands();
        }
    }

    /** After "Function not found" (a master that never had it, a FUNCTION FLUSH): load it everywhere again. */
    synchronized void reloadLibrary() {
        loadLibrary(true);
        libraryChecked = true;
    }

    private void connect() {
        SocketOptions socket = SocketOptions.builder().connectTimeout(timeout).keepAlive(true).build();
        TimeoutOptions timeouts = TimeoutOptions.enabled(timeout);
        // One client per link, kept across failed attempts: shutting a client down while its
        // connection attempts are still being notified releases the shared event loops under
        // them (Netty then logs a rejected notification, with a stack trace, for each).
        if (singleClient != null || mode == GlobalWindows.Mode.SINGLE
                || (clusterClient == null && mode == GlobalWindows.Mode.AUTO && uris.size() == 1 && !isClusterNode())) {
            if (singleClient == null) {
                singleClient = RedisClient.create(resources, uris.get(0));
                singleClient.setOptions(ClientOptions.builder().autoReconnect(true).requestQueueSize(REQUEST_QUEUE)
                        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.ACCEPT_COMMANDS)
                        .socketOptions(socket).timeoutOptions(timeouts).build());
            }
            single = singleClient.connect();
            log.info("Redis: connected to the single Redis at {}", uris.get(0));
        } else {
            if (clusterClient == null) {
                clusterClient = newClusterClient(socket, timeouts);
            }
            cluster = clusterClient.connect();
            log.info("Redis: connected to the cluster at {}", uris);
        }
    }

    private RedisClusterClient newClusterClient(SocketOptions socket, TimeoutOptions timeouts) {
        RedisClusterClient client = RedisClusterClient.create(resources, uris);
        client.setOptions(ClusterClientOptions.builder().autoReconnect(true).requestQueueSize(REQUEST_QUEUE)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.ACCEPT_COMMANDS)
                .socketOptions(socket).timeoutOptions(timeouts)
                .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                        .enablePeriodicRefresh(Duration.ofSeconds(10))
                        .enableAllAdaptiveRefreshTriggers()
                        .adaptiveRefreshTriggersTimeout(Duration.ofMillis(500))
                        .refreshTriggersReconnectAttempts(2)
                        .build())
                .build());
        return client;
    }

    /** Asks the only node whether it is a cluster node; throws if it cannot be reached. */
    private boolean isClusterNode() {
        RedisClient probe = RedisClient.create(resources, uris.get(0));
        probe.setOptions(ClientOptions.builder().autoReconnect(false)
                .socketOptions(SocketOptions.builder().connectTimeout(timeout).build()).build());
        try (StatefulRedisConnection<String, String> c = probe.connect()) {
            return c.sync().info("cluster").contains("cluster_enabled:1");
        } finally {
            probe.shutdown(Duration.ofMillis(100), Duration.ofSeconds(2)); // a quiet period: see connect()
        }
    }

    /**
     * Loads the library on every master where it is missing or older ({@code force}: everywhere).
     * Masters replicate it to their replicas, so a promoted replica has it already.
     */
    private void loadLibrary(boolean force) {
        List<RedisClusterCommands<String, String>> masters = new ArrayList<>();
        if (single != null) {
            masters.add(single.sync());
        } else {
            for (RedisClusterNode node : cluster.getPartitions()) {
                if (node.is(RedisClusterNode.NodeFlag.UPSTREAM) && !node.is(RedisClusterNode.NodeFlag.FAIL)
                        && !node.getSlots().isEmpty()) {
                    masters.add(cluster.getConnection(node.getNodeId()).sync());
                }
            }
        }
        for (RedisClusterCommands<String, String> m : masters) {
            long version = force ? 0 : installedVersion(m);
            if (version < Library.VERSION) {
                m.functionLoad(Library.CODE, true);
                log.info("Redis: loaded the tollgate function library, version {} (was {})", Library.VERSION, version);
            }
        }
    }

    private static long installedVersion(RedisClusterCommands<String, String> m) {
        try {
            Long v = m.fcallReadOnly("tollgate_version", ScriptOutputType.INTEGER);
            return v == null ? 0 : v;
        } catch (RedisCommandExecutionException e) {
            if (Library.isMissing(e)) {
                return 0;
            }
            throw e;
        }
    }

    @Override
    public void close() {
        events.dispose();
        if (recallConnection != null) {
            recallConnection.close();
        }
        if (pipe != null) {
            pipe.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (clusterClient != null) {
            clusterClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        if (single != null) {
            single.close();
        }
        if (singleClient != null) {
            singleClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        resources.shutdown(0, 2, java.util.concurrent.TimeUnit.SECONDS);
    }
}
