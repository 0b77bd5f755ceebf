package dev.tollgate.gateway.proxy;

import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequestDecoder;

/**
 * Netty's request decoder, but a request with both {@code Transfer-Encoding: chunked} and
 * {@code Content-Length} is refused instead of repaired: that shape is how requests are smuggled
 * past a proxy (RFC 9112 §6.1), so it is answered 400 and never forwarded.
 */
final class StrictRequestDecoder extends HttpRequestDecoder {
    StrictRequestDecoder(HttpDecoderConfig config) {
        super(config);
    }

    /** True if part of a request has arrived but not yet the whole head: a client still (or too slowly) sending. */
    boolean hasPartialRequest() {
        return internalBuffer().isReadable();
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
        throw new IllegalArgumentException("both Transfer-Encoding and Content-Length");
    }
}
