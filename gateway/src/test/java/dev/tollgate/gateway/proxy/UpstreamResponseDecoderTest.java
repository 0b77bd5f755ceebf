package dev.tollgate.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The upstream decoder's additions: HEAD responses are bodiless, leftover or out-of-turn bytes are
 * seen, and obs-fold or a transfer coding other than chunked fail the head (at any split).
 */
class UpstreamResponseDecoderTest {
    static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }

    @Test
    void aHeadResponseEndsWithItsHead_andABodyAfterItIsHeldNotDecoded() {
        UpstreamResponseDecoder d = new UpstreamResponseDecoder(new HttpDecoderConfig());
        EmbeddedChannel ch = new EmbeddedChannel(d);
        d.head = true;
        ch.writeInbound(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
        Object head = ch.readInbound();
        Object last = ch.readInbound();
        assertThat(head).isInstanceOf(HttpResponse.class);
        assertThat(last).isInstanceOf(LastHttpContent.class);
        assertThat(((LastHttpContent) last).content().readableBytes()).isZero();
        assertThat((Object) ch.readInbound()).isNull();
        assertThat(d.holdsBytes()).as("the body the upstream should not have sent").isTrue();
        ReferenceCountUtil.release(head);
        ReferenceCountUtil.release(last);
        ch.finishAndReleaseAll();
    }

    @Test
    void aCompleteResponse_leavesNothingBehind() {
        UpstreamResponseDecoder d = new UpstreamResponseDecoder(new HttpDecoderConfig());
        EmbeddedChannel ch = new EmbeddedChannel(d);
        ch.writeInbound(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
        Object m;
        int n = 0;
        while ((m = ch.readInbound()) != null) {
            n++;
            ReferenceCountUtil.release(m);
        }
        assertThat(n).isEqualTo(2);
        assertThat(d.holdsBytes()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void whileIdle_bytesPassUndecoded_soEvenAFragmentIsSeen() {
        UpstreamResponseDecoder d = new UpstreamResponseDecoder(new HttpDecoderConfig());
        EmbeddedChannel ch = new EmbeddedChannel(d);
        d.idle = true;
        ch.writeInbound(bytes("HT"));
        Object m = ch.readInbound();
        assertThat(m).isInstanceOf(ByteBuf.class);
        ReferenceCountUtil.release(m);
        ch.finishAndReleaseAll();
    }

    /** The heads {@code raw} decodes to, fed split at {@code cut}: true for each that decoded as a success. */
    private static java.util.List<Boolean> heads(String raw, int cut) {
        EmbeddedChannel ch = new EmbeddedChannel(new UpstreamResponseDecoder(new HttpDecoderConfig()));
        ch.writeInbound(bytes(raw.substring(0, cut)));
        ch.writeInbound(bytes(raw.substring(cut)));
        java.util.List<Boolean> ok = new java.util.ArrayList<>();
        Object m;
        while ((m = ch.readInbound()) != null) {
            if (m instanceof HttpResponse r) {
                ok.add(r.decoderResult().isSuccess());
            }
            ReferenceCountUtil.release(m);
        }
        ch.finishAndReleaseAll();
        return ok;
    }

    @Test
    void anObsFoldLine_failsTheHead_atEverySplit() {
        String raw = "HTTP/1.1 200 OK\r\nX-A: 1\r\n\tContent-Length: 9\r\nContent-Length: 2\r\n\r\n{}";
        for (int cut = 0; cut <= raw.length(); cut++) {
            assertThat(heads(raw, cut)).as("split at %d", cut).containsExactly(false);
        }
    }

    @Test
    void whitespaceInTheBody_orBeforeTheStatusLine_isNotAFold_andEachResponseIsScannedAfresh() {
        String first = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n\r\n x\n\t";
        String second = "HTTP/1.1 204 No Content\r\nX-B: 2\r\n\r\n";
        String raw = first + second;
        for (int cut = 0; cut <= raw.length(); cut++) {
            assertThat(heads(raw, cut)).as("split at %d", cut).containsExactly(true, true);
        }
    }

    @Test
    void aTransferCodingOtherThanChunked_failsTheHead() {
        assertThat(heads("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", 5)).containsExactly(false);
        assertThat(heads("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 5))
                .containsExactly(false);
        assertThat(heads("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n", 5)).containsExactly(true);
    }
}
