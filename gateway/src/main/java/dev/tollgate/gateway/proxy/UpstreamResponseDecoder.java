package dev.tollgate.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ByteProcessor;
import java.util.List;

/**
 * Decodes what one upstream connection sends, and tells whether it sent more than it should: a
 * response to a HEAD request has no body ({@link #head}, set by the exchange before it writes the
 * request), and bytes left over after a complete response ({@link #holdsBytes}) or arriving while
 * the connection is idle in the pool ({@link #idle}: passed on undecoded, so the backend handler
 * closes the connection even on a fragment too short to decode) make the connection unusable.
 * <p>
 * Two things Netty's decoder would repair make the response's head a failure instead (the
 * exchange answers 502 and closes the connection, as nginx does): an obs-fold line (RFC 9112
 * §5.2; Netty unfolds it into the field before), found by a scan of the head's bytes ahead of the
 * decoder (it consumes whole lines only, so the scan resumes where it stopped, at most once per
 * byte), and a {@code Transfer-Encoding} other than a single {@code chunked} (RFC 9112 §6.1, §6.3:
 * another coding, or chunked not last, leaves the length to the close, and the body would be
 * relayed re-framed). Used from the connection's event loop only.
 */
final class UpstreamResponseDecoder extends HttpResponseDecoder implements ByteProcessor {
    /** The request being answered is a HEAD: its response has no body, whatever its headers say. */
    boolean head;
    /** The connection sits in the pool: whatever arrives is out of turn. */
    boolean idle;

    /** A head is being read (or the next one awaited): its bytes are scanned for obs-fold. */
    private boolean inHead = true;
    /** The scan reached the empty line that ends the head. */
    private boolean headScanned;
    /** Bytes past the buffer's reader index already scanned. */
    private int scanned;
    /** Non-empty lines of the head seen so far (the first is the status line). */
    private int lines;
    /** Bytes of the current line, CR excluded. */
    private int lineLength;
    /** A line of the head began with SP or HTAB. */
    private boolean folded;

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

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        if (inHead && !headScanned) {
            int from = buffer.readerIndex() + scanned;
            int end = buffer.forEachByte(from, buffer.writerIndex() - from, this);
            headScanned = end >= 0;
            scanned = (end >= 0 ? end + 1 : buffer.writerIndex()) - buffer.readerIndex();
        }
        int readerBefore = buffer.readerIndex();
        int produced = out.size();
        super.decode(ctx, buffer, out);
        scanned = Math.max(0, scanned - (buffer.readerIndex() - readerBefore));
        for (int i = produced; i < out.size(); i++) {
            Object o = out.get(i);
            if (o instanceof HttpMessage m) {
                inHead = false;
                String problem = folded ? "an obs-fold line in the response head" : transferCodingProblem(m);
                if (problem != null && m.decoderResult().isSuccess()) {
                    m.setDecoderResult(DecoderResult.failure(new IllegalArgumentException(problem)));
                }
            }
            if (o instanceof LastHttpContent) {
                nextHead();
            }
        }
    }

    /** One byte of a head: false at the LF of the empty line that ends it. */
    @Override
    public boolean process(byte b) {
        if (b == '\n') {
            if (lineLength == 0 && lines > 0) {
                return false;
            }
            if (lineLength > 0) {
                lines++;
            }
            lineLength = 0;
            return true;
        }
        if (lineLength == 0 && lines > 0 && (b == ' ' || b == '\t')) {
            folded = true; // a continuation of the line before
        }
        if (b != '\r') {
            lineLength++;
        }
        return true;
    }

    private void nextHead() {
        inHead = true;
        headScanned = false;
        scanned = 0;
        lines = 0;
        lineLength = 0;
        folded = false;
    }

    /** Null unless the message has a Transfer-Encoding other than one {@code chunked}. */
    private static String transferCodingProblem(HttpMessage m) {
        if (!m.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            return null;
        }
        List<String> codings = m.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (codings.size() == 1 && codings.get(0).trim().equalsIgnoreCase("chunked")) {
            return null;
        }
        return "a Transfer-Encoding other than chunked in the response: " + String.join(", ", codings);
    }

    /** Bytes received but not yet decoded: the start of something after the response just ended. */
    boolean holdsBytes() {
        return actualReadableBytes() > 0;
    }
}
