package dev.tollgate.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.util.List;

/**
 * Netty's request decoder, but a request with both {@code Transfer-Encoding: chunked} and
 * {@code Content-Length} is refused instead of repaired: that shape is how requests are smuggled
 * past a proxy (RFC 9112 §6.1), so it is answered 400 and never forwarded. Each request head is
 * first checked byte by byte by a {@link RequestHeadValidator} and only handed to Netty's parser
 * once it is complete and well formed: what Netty would repair (obs-fold, control characters,
 * tabs or several spaces in the request line, bare CR or LF) becomes an invalid request instead,
 * refused with 400, and the rest of the connection's bytes are discarded. It also tells when the
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
    private final RequestHeadValidator validator;
    /** The head in progress was found well formed: Netty may parse it. */
    private boolean headChecked;
    /** A malformed request was produced: every later byte is discarded. */
    private boolean refused;

    StrictRequestDecoder(HttpDecoderConfig config) {
        super(config);
        // a head longer than this is refused with Netty's own limits' statuses (414, 431)
        validator = new RequestHeadValidator(config.getMaxInitialLineLength() + config.getMaxHeaderSize() + 4);
        validator.reset();
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
        if (refused) {
            buffer.skipBytes(buffer.readableBytes());
            return;
        }
        if (!inMessage && !inHead && buffer.isReadable()) {
            inHead = true;
            heads++;
            headStartNanos = ctx.executor().ticker().nanoTime();
        }
        if (!inMessage && !headChecked && buffer.isReadable()) {
            int r = validator.feed(buffer);
            if (r == RequestHeadValidator.MORE) {
                return;
            }
            if (r < 0) {
                Exception cause = r == RequestHeadValidator.MALFORMED ? new IllegalArgumentException(validator.problem())
                        : validator.tooLongInRequestLine() ? new TooLongHttpLineException("the request line is too long")
                        : new TooLongHttpHeaderException("the request head is too large");
                refused = true;
                DefaultFullHttpRequest bad = refusedRequest(buffer);
                buffer.skipBytes(buffer.readableBytes());
                bad.setDecoderResult(DecoderResult.failure(cause));
                inHead = false;
                out.add(bad);
                return;
            }
            headChecked = true;
        }
        int before = out.size();
        super.decode(ctx, buffer, out);
        for (int i = before; i < out.size(); i++) {
            Object o = out.get(i);
            if (o instanceof HttpMessage m) {
                inHead = false;
                inMessage = true;
                headChecked = false;
                validator.reset();
                if (m.decoderResult().isFailure()) {
                    refused = true; // Netty discards what follows too; nothing after it is a request
                }
            }
            if (o instanceof LastHttpContent) {
                inMessage = false;
            }
        }
    }

    /**
     * The stand-in for a refused head, never forwarded: it carries the method and the target as
     * far as they were sent, for the access log ({@code -} where the request line does not start
     * with a method and a space), the target's bytes outside visible ASCII written as %XX and cut
     * at 2,048 characters.
     */
    static DefaultFullHttpRequest refusedRequest(ByteBuf head) {
        int from = head.readerIndex();
        int end = head.writerIndex();
        int sp = -1;
        for (int i = from; i < end && i < from + 32; i++) {
            byte b = head.getByte(i);
            if (b == ' ') {
                sp = i;
                break;
            }
            if (b <= 0x20 || b >= 0x7f) {
                break;
            }
        }
        HttpMethod method = HttpMethod.valueOf("-");
        StringBuilder target = new StringBuilder();
        if (sp > from) {
            method = HttpMethod.valueOf(head.toString(from, sp - from, java.nio.charset.StandardCharsets.US_ASCII));
            for (int i = sp + 1; i < end && target.length() < 2048; i++) {
                int b = head.getByte(i) & 0xff;
                if (b == ' ' || b == '\r' || b == '\n') {
                    break;
                }
                if (b > 0x20 && b < 0x7f) {
                    target.append((char) b);
                } else {
                    target.append('%').append(Character.toUpperCase(Character.forDigit(b >> 4, 16)))
                            .append(Character.toUpperCase(Character.forDigit(b & 15, 16)));
                }
            }
        }
        return new DefaultFullHttpRequest(HttpVersion.HTTP_1_0, method, target.isEmpty() ? "-" : target.toString(), Unpooled.EMPTY_BUFFER);
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
        throw new IllegalArgumentException("both Transfer-Encoding and Content-Length");
    }
}
