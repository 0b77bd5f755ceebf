package dev.tollgate.gateway.proxy;

import dev.tollgate.gateway.admin.GatewayMetrics;
import dev.tollgate.gateway.admin.GatewayMetrics.ErrorKind;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream side of a connection: hands what the upstream sends to the exchange it serves,
 * or, while idle in the pool, closes on anything it sends (counted as extra bytes: a connection
 * that speaks out of turn would answer the next request with them). Runs on the shared event loop.
 */
final class BackendHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(BackendHandler.class);

    private final UpstreamPool pool;
    private final GatewayMetrics metrics;
    final UpstreamResponseDecoder decoder;
    /** The exchange this connection serves; null while idle in the pool. */
    Exchange exchange;

    BackendHandler(UpstreamPool pool, UpstreamResponseDecoder decoder, GatewayMetrics metrics) {
        this.pool = pool;
        this.decoder = decoder;
        this.metrics = metrics;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Exchange x = exchange;
        if (x == null) {
            ReferenceCountUtil.release(msg);
            if (ctx.channel().isActive()) {
                metrics.error(ErrorKind.UPSTREAM_EXTRA_BYTES);
            }
            ctx.close(); // an idle connection that speaks out of turn is not reusable
            return;
        }
        x.fromUpstream(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Exchange x = exchange;
        if (x != null) {
            x.flushClient();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Exchange x = exchange;
        exchange = null;
        if (x != null) {
            x.upstreamClosed();
        } else {
            pool.remove(ctx.channel());
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            Exchange x = exchange;
            if (x != null && x.waitingForClientBody()) {
                return; // nothing is due from the upstream before the request is complete: the client's body deadline runs
            }
            exchange = null;
            if (x != null) {
                x.upstreamIdle(); // an upstream that stopped sending mid-response, or never answered
            }
            ctx.close();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("upstream connection {} failed: {}", ctx.channel(), cause.toString());
        ctx.close();
    }
}
