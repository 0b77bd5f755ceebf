package dev.tollgate.gateway;

import dev.tollgate.gateway.proxy.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.util.function.Consumer;

/**
 * A listening socket bound before the gateway opens anything in its data directory, so that a
 * gateway that cannot listen writes nothing there. It accepts no connection until {@link #open}
 * installs the connections' pipeline: until then the server channel does not read (accept), and
 * clients wait in the kernel's backlog.
 *
 * <p>Threads: bound and opened by the thread that starts the gateway; the pipeline is published
 * by the volatile field before accepting is switched on, and read by the boss loop per accept.
 */
final class HeldListener {
    private final Channel server;
    private volatile ChannelInitializer<Channel> pipeline;

    private HeldListener(ServerBootstrap b, InetSocketAddress at) throws InterruptedException {
        b.option(ChannelOption.AUTO_READ, false).childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(pipeline);
            }
        });
        this.server = b.bind(at).sync().channel();
    }

    /** Binds {@code at} with the bootstrap options of {@code configure}; accepts nothing yet. */
    static HeldListener bind(Transport transport, EventLoopGroup boss, EventLoopGroup workers, InetSocketAddress at,
            Consumer<ServerBootstrap> configure) throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap().group(boss, workers).channel(transport.serverChannel());
        configure.accept(b);
        return new HeldListener(b, at);
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    /** Starts accepting connections, each with {@code connections} as its pipeline. */
    void open(ChannelInitializer<Channel> connections) {
        this.pipeline = connections;
        server.config().setAutoRead(true);
    }

    void close() {
        server.close().syncUninterruptibly();
    }
}
