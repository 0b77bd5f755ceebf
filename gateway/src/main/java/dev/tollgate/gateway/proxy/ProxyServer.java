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
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's listening socket and each client connection's pipeline: idle timeout, strict
 * request decoder, response encoder, the frontend handler. Upstream connections share the client
 * connection's event loop (see {@link Exchange}).
 */
public final class ProxyServer {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final ProxyContext px;
    /** Every open client connection; a closed channel leaves the group by itself. */
    private final ChannelGroup connections = new DefaultChannelGroup("tollgate-clients", GlobalEventExecutor.INSTANCE);
    private Channel server;

    public ProxyServer(GatewayConfig config, Meter meter, EntityResolver resolver, SeenIdentifiers seen, GatewayMetrics metrics,
            Transport transport, AccessLog accessLog, java.time.Clock clock) {
        this.px = new ProxyContext(config, meter, resolver, seen, metrics, transport, accessLog, clock);
        metrics.gauge("tollgate_upstream_idle_connections", "Keep-alive connections to the upstream waiting for reuse",
                px::idleUpstreamConnections);
        metrics.gauge("tollgate_open_connections", "Client connections open now", connections::size);
    }

    /** Binds the listening socket; returns the bound address (the port, if 0 was asked). */
    public InetSocketAddress start(EventLoopGroup boss, EventLoopGroup workers) throws InterruptedException {
        GatewayConfig.Limits limits = px.config.limits();
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength(limits.maxInitialLineLength())
                .setMaxHeaderSize(limits.maxHeaderSize())
                .setMaxChunkSize(limits.maxChunkSize());
        server = new ServerBootstrap()
                .group(boss, workers)
                .channel(px.transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.add(ch);
                        ProxyResponseEncoder encoder = new ProxyResponseEncoder();
                        ChannelPipeline p = ch.pipeline();
                        p.addLast("idle", new IdleStateHandler(limits.clientIdleTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
                        StrictRequestDecoder requests = new StrictRequestDecoder(decoder);
                        p.addLast("decoder", requests);
                        p.addLast("encoder", encoder);
                        p.addLast("frontend", new FrontendHandler(px, requests, encoder));
                    }
                })
                .bind(px.config.listen().socketAddress())
                .sync()
                .channel();
        return (InetSocketAddress) server.localAddress();
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
