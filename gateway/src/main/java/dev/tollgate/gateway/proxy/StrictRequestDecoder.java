package dev.tollgate.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.List;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequestDecoder;

/**
 * Netty's request decoder, but a request with both {@code Transfer-Encoding: chunked} and
 * {@code Content-Length} is refused instead of repaired: that shape is how requests are smuggled
 * past a proxy (RFC 9112 §6.1), so it is answered 400 and never forwarded. It also tells when the
 * head of the request in progress began, for the head deadline (a slow client sending one byte at
 * a time must not hold a connection for ever).
 */
final class StrictRequestDecoder extends HttpRequestDecoder {
    /** Between a request's head and its last content: a body is (or may still be) arriving. */
    private boolean inMessage;
    /** Bytes of a request head have arrived, not yet the whole head. */
    private boolean inHead;
    /** When the first byte of the head in progress arrived, on the channel's executor's ticker. */
    private long headStartNanos;
    /** Heads begun so far on this connection: tells a deadline which head it was set for. */
    private long heads;

    StrictRequestDecoder(HttpDecoderConfig config) {
        super(config);
    }

    /** True if part of a request head has arrived but not yet the whole head: a client still (or too slowly) sending. */
    boolean hasPartialRequest() {
        return inHead || (!inMessage && internalBuffer().isReadable());
    }

    /** When the head in progress began ({@link #hasPartialRequest()}), on the executor's ticker. */
    long headStartNanos() {
        return headStartNanos;
    }

    /** The number of the head in progress (or of the last one). */
    long headNumber() {
        return heads;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        if (!inMessage && !inHead && buffer.isReadable()) {
            inHead = true;
            heads++;
            headStartNanos = ctx.executor().ticker().nanoTime();
        }
        int before = out.size();
        super.decode(ctx, buffer, out);
        for (int i = before; i < out.size(); i++) {
            Object o = out.get(i);
            if (o instanceof HttpMessage) {
                inHead = false;
                inMessage = true;
            }
            if (o instanceof LastHttpContent) {
                inMessage = false;
            }
        }
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
        throw new IllegalArgumentException("both Transfer-Encoding and Content-Length");
    }
}
