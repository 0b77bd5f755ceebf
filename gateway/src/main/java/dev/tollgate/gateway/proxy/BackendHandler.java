package dev.tollgate.gateway.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream side of a connection: hands what the upstream sends to the exchange it serves,
 * or, while idle in the pool, closes on anything unexpected. Runs on the shared event loop.
 */
final class BackendHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(BackendHandler.class);

    private final UpstreamPool pool;
    /** The exchange this connection serves; null while idle in the pool. */
    Exchange exchange;

    BackendHandler(UpstreamPool pool) {
        this.pool = pool;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Exchange x = exchange;
        if (x == null) {
            ReferenceCountUtil.release(msg);
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
            ctx.close(); // idle in the pool, or an upstream that stopped sending mid-response
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
