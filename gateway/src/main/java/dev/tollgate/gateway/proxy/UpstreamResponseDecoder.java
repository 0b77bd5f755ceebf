package dev.tollgate.gateway.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpStatusClass;

/**
 * Decodes what one upstream connection sends, and tells whether it sent more than it should: a
 * response to a HEAD request has no body ({@link #head}, set by the exchange before it writes the
 * request), and bytes left over after a complete response ({@link #holdsBytes}) or arriving while
 * the connection is idle in the pool ({@link #idle}: passed on undecoded, so the backend handler
 * closes the connection even on a fragment too short to decode) make the connection unusable.
 * Used from the connection's event loop only.
 */
final class UpstreamResponseDecoder extends HttpResponseDecoder {
    /** The request being answered is a HEAD: its response has no body, whatever its headers say. */
    boolean head;
    /** The connection sits in the pool: whatever arrives is out of turn. */
    boolean idle;

    UpstreamResponseDecoder(HttpDecoderConfig config) {
        super(config);
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpMessage msg) {
        if (head && msg instanceof HttpResponse r && r.status().codeClass() != HttpStatusClass.INFORMATIONAL) {
            return true;
        }
        return super.isContentAlwaysEmpty(msg);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (idle) {
            ctx.fireChannelRead(msg); // the backend handler drops it and closes the connection
            return;
        }
        super.channelRead(ctx, msg);
    }

    /** Bytes received but not yet decoded: the start of something after the response just ended. */
    boolean holdsBytes() {
        return actualReadableBytes() > 0;
    }
}
