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

/** The upstream decoder's two additions: HEAD responses are bodiless, and leftover or out-of-turn bytes are seen. */
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
}
