package dev.tollgate.gateway.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The head validator gives the same verdict however the head is split across reads, and on long heads. */
class RequestHeadValidatorTest {
    private static final String GOOD = "GET /2/tweets/search/recent?query=" + "q".repeat(300) + " HTTP/1.1\r\nHost: api.example\r\n"
            + "X-Long: " + "v".repeat(600) + "\r\nAccept: */*\r\n\r\nGET /next HTTP/1.1\r\n";

    @Test
    void longHead_inOnePiece_endsWhereTheEmptyLineEnds() {
        int end = GOOD.indexOf("\r\n\r\n") + 4;
        assertThat(verdictWhole(GOOD)).isEqualTo(end);
    }

    @Test
    void anySplit_givesTheSameVerdict() {
        String bad = GOOD.replace("X-Long: v", "X-Long: \u0001");
        String folded = GOOD.replace("\r\nAccept", "\r\n Accept");
        for (String head : new String[] {GOOD, bad, folded}) {
            int whole = verdictWhole(head);
            for (int split = 1; split < head.length(); split += 7) {
                assertThat(verdictSplit(head, split)).as("split at %d", split).isEqualTo(whole);
            }
        }
        assertThat(verdictWhole(bad)).isEqualTo(RequestHeadValidator.MALFORMED);
        assertThat(verdictWhole(folded)).isEqualTo(RequestHeadValidator.MALFORMED);
    }

    @Test
    void unfinishedHead_pastTheLimit_isTooLong_andSaysWhere() {
        RequestHeadValidator v = new RequestHeadValidator(100);
        v.reset();
        ByteBuf b = Unpooled.copiedBuffer("GET /" + "a".repeat(200), StandardCharsets.ISO_8859_1);
        try {
            assertThat(v.feed(b)).isEqualTo(RequestHeadValidator.TOO_LONG);
            assertThat(v.tooLongInRequestLine()).isTrue();
        } finally {
            b.release();
        }
    }

    private static int verdictWhole(String head) {
        RequestHeadValidator v = new RequestHeadValidator(16 * 1024);
        v.reset();
        ByteBuf b = Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1);
        try {
            return v.feed(b);
        } finally {
            b.release();
        }
    }

    /** The first {@code split} bytes, then the rest appended to the same buffer (as a cumulation grows). */
    private static int verdictSplit(String head, int split) {
        RequestHeadValidator v = new RequestHeadValidator(16 * 1024);
        v.reset();
        byte[] bytes = head.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuf b = Unpooled.buffer(bytes.length);
        try {
            b.writeBytes(bytes, 0, split);
            int r = v.feed(b);
            if (r != RequestHeadValidator.MORE) {
                return r;
            }
            b.writeBytes(bytes, split, bytes.length - split);
            return v.feed(b);
        } finally {
            b.release();
        }
    }
}
