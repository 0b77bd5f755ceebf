package dev.tollgate.gateway.proxy;

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
import java.util.concurrent.TimeUnit;

/**
 * The proxy's listening socket and each client connection's pipeline: idle timeout, strict
 * request decoder, response encoder, the frontend handler. Upstream connections share the client
 * connection's event loop (see {@link Exchange}).
 */
public final class ProxyServer {
    private final ProxyContext px;
    private Channel server;

    public ProxyServer(GatewayConfig config, Meter meter, EntityResolver resolver, SeenIdentifiers seen, GatewayMetrics metrics,
            Transport transport) {
        this.px = new ProxyContext(config, meter, resolver, seen, metrics, transport);
        metrics.gauge("tollgate_upstream_idle_connections", "Keep-alive connections to the upstream waiting for reuse",
                px::idleUpstreamConnections);
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
                .childOption(ChannelOption.TCP_NODELAY, true);
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
                ProxyResponseEncoder encoder = new ProxyResponseEncoder();
                ChannelPipeline p = ch.pipeline();
                p.addLast("idle", new IdleStateHandler(limits.clientIdleTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
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

    public void stop() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
    }
}
