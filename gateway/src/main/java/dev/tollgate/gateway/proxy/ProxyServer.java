package dev.tollgate.gateway.proxy;

import dev.tollgate.gateway.access.AccessLog;
import dev.tollgate.gateway.admin.GatewayMetrics;
import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.gateway.entity.EntityResolver;
import dev.tollgate.gateway.entity.SeenIdentifiers;
import dev.tollgate.meter.Meter;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpDecoderConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's listening socket and each client connection's pipeline: strict request decoder,
 * response encoder, the frontend handler (which keeps the idle, head and body deadlines). Upstream connections share the client
 * connection's event loop (see {@link Exchange}).
 */
public final class ProxyServer {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final ProxyContext px;
    /** Every open client connection; a closed channel leaves the group by itself. */
    private final ChannelGroup connections = new DefaultChannelGroup("tollgate-clients", GlobalEventExecutor.INSTANCE);
    private Channel server;
    /** Open connections per client address (trusted proxies not counted: they carry many clients). */
    private final ConcurrentHashMap<InetAddress, Integer> perClient = new ConcurrentHashMap<>();
    private final int maxConnections;
    /** Admitted connections not yet closed: the total cap, exact whichever loop admits. */
    private final java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
    private final int maxPerClient;

    /** A single gateway's proxy: enforcement reads {@code meter} itself. */
    public ProxyServer(GatewayConfig config, Meter meter, EntityResolver resolver, SeenIdentifiers seen, GatewayMetrics metrics,
            Transport transport, AccessLog accessLog, java.time.Clock clock) {
        this(config, meter, meter, resolver, seen, metrics, transport, accessLog, clock);
    }

    /** {@code meter} counts; enforcement reads {@code view} (in cluster mode, the global standing). */
    public ProxyServer(GatewayConfig config, Meter meter, dev.tollgate.meter.MeterView view, EntityResolver resolver, SeenIdentifiers seen,
            GatewayMetrics metrics, Transport transport, AccessLog accessLog, java.time.Clock clock) {
        this.px = new ProxyContext(config, meter, view, resolver, seen, metrics, transport, accessLog, clock);
        metrics.gauge("tollgate_upstream_idle_connections", "Keep-alive connections to the upstream waiting for reuse",
                px::idleUpstreamConnections);
        metrics.gauge("tollgate_open_connections", "Client connections open now", connections::size);
        metrics.gauge("tollgate_pending_bytes", "Bytes read from one side of a proxied connection and not yet handed to the other's"
                + " socket, all connections (each holds at most limits.maxPendingBytes per direction)", px.pendingBytes::sum);
        if (io.netty.buffer.ByteBufAllocator.DEFAULT instanceof io.netty.buffer.ByteBufAllocatorMetricProvider a) {
            metrics.gauge("tollgate_netty_direct_memory_bytes", "Direct memory held by Netty's buffer allocator (its pools included)",
                    () -> a.metric().usedDirectMemory());
        }
        this.maxConnections = config.limits().effectiveMaxConnections(fileLimit());
        this.maxPerClient = config.limits().maxConnectionsPerClient();
        metrics.gauge("tollgate_max_connections", "The cap on client connections (limits.maxConnections, or from the file limit)",
                () -> maxConnections);
    }

    /** The process's limit on open files, or 0 where the platform does not tell. */
    static long fileLimit() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.UnixOperatingSystemMXBean u ? u.getMaxFileDescriptorCount() : 0;
    }

    /**
     * Admits a new client connection, or closes it at once: past the cap on connections in total
     * (kept below the file limit, so the admin API, the upstream side and the data directory keep
     * their descriptors) or per client address. Counted in {@code tollgate_refusals_total}.
     */
    private boolean admit(Channel ch) {
        if (open.incrementAndGet() > maxConnections) {
            open.decrementAndGet();
            px.metrics.refused("max_connections");
            px.refusals.warn(System.nanoTime(), "refused a connection from {}: {} connections open (limits.maxConnections)",
                    ch.remoteAddress(), maxConnections);
            return false;
        }
        ch.closeFuture().addListener(f -> open.decrementAndGet());
        if (!(ch.remoteAddress() instanceof InetSocketAddress peer) || trusted(peer.getAddress())) {
            return true;
        }
        InetAddress a = peer.getAddress();
        int fromThere = perClient.merge(a, 1, Integer::sum); // atomic per address, as is the release below
        if (fromThere > maxPerClient) {
            release(a);
            px.metrics.refused("max_connections_per_client");
            px.refusals.warn(System.nanoTime(), "refused a connection from {}: {} open from that address (limits.maxConnectionsPerClient)",
                    a.getHostAddress(), maxPerClient);
            return false;
        }
        ch.closeFuture().addListener(f -> release(a));
        return true;
    }

    private void release(InetAddress a) {
        perClient.computeIfPresent(a, (k, n) -> n <= 1 ? null : n - 1);
    }

    private boolean trusted(InetAddress a) {
        for (dev.tollgate.gateway.entity.Cidr c : px.config.entities().trustedProxies()) {
            if (c.contains(a)) {
                return true;
            }
        }
        return false;
    }

    /** Binds the listening socket; returns the bound address (the port, if 0 was asked). */
    public InetSocketAddress start(EventLoopGroup boss, EventLoopGroup workers) throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap().group(boss, workers).channel(px.transport.serverChannel());
        configure(b);
        server = b.childHandler(pipeline()).bind(px.config.listen().socketAddress()).sync().channel();
        return (InetSocketAddress) server.localAddress();
    }

    /** The listening socket's options (the gateway binds it before it opens its data directory). */
    public static void configure(ServerBootstrap b) {
        b.option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                // a client that shuts down its write side after its requests still gets the responses
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    }

    /** The pipeline of each accepted client connection. */
    public ChannelInitializer<Channel> pipeline() {
        GatewayConfig.Limits limits = px.config.limits();
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength(limits.maxInitialLineLength())
                .setMaxHeaderSize(limits.maxHeaderSize())
                .setMaxChunkSize(limits.maxChunkSize());
        return new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                if (!admit(ch)) {
                    ch.close();
                    return;
                }
                connections.add(ch);
                ch.config().setRecvByteBufAllocator(px.reads);
                ProxyResponseEncoder encoder = new ProxyResponseEncoder();
                ChannelPipeline p = ch.pipeline();
                StrictRequestDecoder requests = new StrictRequestDecoder(decoder);
                p.addLast("decoder", requests);
                p.addLast("encoder", encoder);
                p.addLast("frontend", new FrontendHandler(px, requests, encoder));
            }
        };
    }

    /** Requests whose posts and request were recorded in the meter, so far. */
    public long meteredRequests() {
        return px.charged.sum();
    }

    /** Closes the listening socket: no new connection is accepted; open ones go on. */
    public void stop() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
    }

    public int openConnections() {
        return connections.size();
    }

    /**
     * Graceful drain: stops accepting, closes idle connections at once and every other one as
     * soon as its response is complete, and waits until none is left, {@code deadlineNanos}
     * (on {@link System#nanoTime()}) passes or {@code force} turns true. Connections still open
     * then are closed, cutting what they were doing.
     *
     * @return the number of connections cut at the end
     */
    public int drain(long deadlineNanos, java.util.function.BooleanSupplier force) throws InterruptedException {
        stop();
        for (Channel ch : connections) {
            FrontendHandler f = ch.pipeline().get(FrontendHandler.class);
            if (f != null) {
                ch.eventLoop().execute(f::drain);
            }
        }
        while (!connections.isEmpty() && System.nanoTime() < deadlineNanos && !force.getAsBoolean()) {
            // the group empties as connections close; poll at a human pace, bounded by the deadline
            Thread.sleep(Math.max(1, Math.min(50, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()))));
        }
        int cut = connections.size();
        if (cut > 0) {
            log.warn("drain: closing {} connections still busy at the end of the grace period", cut);
            connections.close().await(5, TimeUnit.SECONDS);
        }
        return cut;
    }
}
