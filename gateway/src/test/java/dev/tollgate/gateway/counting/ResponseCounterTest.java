package dev.tollgate.gateway.counting;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.compression.Brotli;
import io.netty.handler.codec.compression.Zstd;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The response counter over every coding, however the coded bytes are split, broken or inflated. */
class ResponseCounterTest {
    static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
    static final long NO_BOUND = 1L << 40;

    @Test
    void nativeCodecs_loadOnThisMachine() {
        assertThat(Brotli.isAvailable()).as("brotli4j: %s", Brotli.cause()).isTrue();
        assertThat(Zstd.isAvailable()).as("zstd-jni: %s", Zstd.cause()).isTrue();
        assertThat(ContentCoding.BR.readable()).isTrue();
        assertThat(ContentCoding.ZSTD.readable()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(ContentCoding.class)
    void everyCoding_countsExactly_inWholeAndOneBytePieces_andLeavesTheBytesAlone(ContentCoding coding) {
        byte[] coded = TestCodings.encode(coding, TestCodings.page(100, 12).getBytes(StandardCharsets.UTF_8));
        for (int piece : new int[] {coded.length, 8192, 7, 1}) {
            ResponseCounter c = ResponseCounter.create(coding, ALLOC, NO_BOUND);
            ByteBuf whole = Unpooled.wrappedBuffer(coded.clone());
            for (int at = 0; at < coded.length; at += piece) {
                ByteBuf p = whole.retainedSlice(at, Math.min(piece, coded.length - at));
                int before = p.readerIndex();
                c.feed(p);
                assertThat(p.readerIndex()).isEqualTo(before);
                p.release();
            }
            c.end();
            c.close();
            assertThat(c.problem()).as("%s in pieces of %d", coding, piece).isEqualTo(ResponseCounter.Problem.NONE);
            assertThat(c.posts()).as("%s in pieces of %d", coding, piece).isEqualTo(100);
            assertThat(ByteBufUtilBytes.of(whole)).isEqualTo(coded);
            assertThat(whole.refCnt()).isEqualTo(1);
            whole.release();
        }
    }

    @ParameterizedTest
    @EnumSource(value = ContentCoding.class, names = "IDENTITY", mode = EnumSource.Mode.EXCLUDE)
    void aCutShortStream_countsThePostsBeforeTheCut_andSaysDecode(ContentCoding coding) {
        byte[] coded = TestCodings.encode(coding, TestCodings.page(100, 12).getBytes(StandardCharsets.UTF_8));
        ResponseCounter c = ResponseCounter.create(coding, ALLOC, NO_BOUND);
        ByteBuf half = Unpooled.wrappedBuffer(Arrays.copyOf(coded, coded.length / 2));
        c.feed(half);
        half.release();
        c.end();
        assertThat(c.problem()).isEqualTo(ResponseCounter.Problem.DECODE);
        // zstd decodes whole blocks (up to 128 KiB): half of a one-block page decodes to nothing, for a client too
        assertThat(c.posts()).isBetween(coding == ContentCoding.ZSTD ? 0L : 1L, 99L);
    }

    @ParameterizedTest
    @EnumSource(value = ContentCoding.class, names = "IDENTITY", mode = EnumSource.Mode.EXCLUDE)
    void corruptBytes_stopTheCountWhereTheyBegin(ContentCoding coding) {
        byte[] coded = TestCodings.encode(coding, TestCodings.page(100, 12).getBytes(StandardCharsets.UTF_8));
        for (int i = coded.length / 2; i < coded.length; i++) {
            coded[i] = (byte) 0xFF;
        }
        ResponseCounter c = ResponseCounter.create(coding, ALLOC, NO_BOUND);
        ByteBuf b = Unpooled.wrappedBuffer(coded);
        for (int at = 0; at < coded.length; at += 512) {
            ByteBuf p = b.retainedSlice(at, Math.min(512, coded.length - at));
            c.feed(p);
            p.release();
        }
        b.release();
        c.end();
        assertThat(c.problem()).isIn(ResponseCounter.Problem.DECODE, ResponseCounter.Problem.JSON);
        assertThat(c.posts()).isLessThan(100);
    }

    @ParameterizedTest
    @EnumSource(value = ContentCoding.class, names = "IDENTITY", mode = EnumSource.Mode.EXCLUDE)
    void aDecompressionBomb_stopsAtTheBound_withoutHoldingTheBody(ContentCoding coding) {
        // 64 MiB of spaces inside a string, then posts that are never reached: about 64 KiB coded
        byte[] body = new byte[64 << 20];
        Arrays.fill(body, (byte) ' ');
        byte[] head = "{\"data\":[{\"id\":\"1\"},{\"id\":\"2\"},\"".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, body, 0, head.length);
        byte[] coded = TestCodings.encode(coding, body);
        long bound = 1 << 20;
        ResponseCounter c = ResponseCounter.create(coding, ALLOC, bound);
        ByteBuf b = Unpooled.wrappedBuffer(coded);
        c.feed(b);
        b.release();
        c.end();
        assertThat(c.problem()).isEqualTo(ResponseCounter.Problem.DECODE_LIMIT);
        assertThat(c.decodedBytes()).isEqualTo(bound);
        assertThat(c.posts()).isEqualTo(2);
    }

    @Test
    void aZstdFrameWantingAWindowAbove8MiB_isABrokenStream() throws Exception {
        byte[] body = TestCodings.page(100, 12).getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        try (com.github.luben.zstd.ZstdOutputStream z = new com.github.luben.zstd.ZstdOutputStream(b)) {
            z.setWindowLog(26); // 64 MiB, declared in the frame header of a stream of unknown size
            z.write(body);
        }
        ResponseCounter c = ResponseCounter.create(ContentCoding.ZSTD, ALLOC, NO_BOUND);
        ByteBuf coded = Unpooled.wrappedBuffer(b.toByteArray());
        c.feed(coded);
        coded.release();
        c.end();
        assertThat(c.problem()).isEqualTo(ResponseCounter.Problem.DECODE);
        assertThat(c.posts()).isZero();
    }

    @Test
    void concatenatedGzipMembers_areAllCounted() {
        String page = TestCodings.page(10, 3);
        int cut = page.indexOf("{\"id\"", page.length() / 2);
        byte[] a = TestCodings.encode(ContentCoding.GZIP, page.substring(0, cut).getBytes(StandardCharsets.UTF_8));
        byte[] b = TestCodings.encode(ContentCoding.GZIP, page.substring(cut).getBytes(StandardCharsets.UTF_8));
        ResponseCounter c = ResponseCounter.create(ContentCoding.GZIP, ALLOC, NO_BOUND);
        ByteBuf both = Unpooled.wrappedBuffer(a, b);
        c.feed(both);
        both.release();
        c.end();
        assertThat(c.problem()).isEqualTo(ResponseCounter.Problem.NONE);
        assertThat(c.posts()).isEqualTo(10);
    }

    @Test
    void contentEncodingValues_readableOrNot() {
        assertThat(ContentCoding.of(null)).isEqualTo(ContentCoding.IDENTITY);
        assertThat(ContentCoding.of("GZIP")).isEqualTo(ContentCoding.GZIP);
        assertThat(ContentCoding.of("x-gzip")).isEqualTo(ContentCoding.GZIP);
        assertThat(ContentCoding.of(" br ")).isEqualTo(ContentCoding.BR);
        assertThat(ContentCoding.of("zstd")).isEqualTo(ContentCoding.ZSTD);
        assertThat(ContentCoding.of("compress")).isNull();
        assertThat(ContentCoding.of("gzip, br")).as("stacked codings").isNull();
    }

    @Test
    void acceptEncoding_keepsOnlyReadableCodings() {
        assertThat(AcceptEncoding.restrict(null)).isEqualTo("identity");
        String plain = "gzip, deflate, br, zstd";
        assertThat(AcceptEncoding.restrict(plain)).isSameAs(plain);
        assertThat(AcceptEncoding.restrict("gzip;q=0.8, compress, lzma;q=1, identity")).isEqualTo("gzip;q=0.8, identity");
        assertThat(AcceptEncoding.restrict("compress")).isEqualTo("identity");
        assertThat(AcceptEncoding.restrict("br;q=1.0, *;q=0.5")).isEqualTo("br;q=1.0, gzip;q=0.5, deflate;q=0.5, zstd;q=0.5");
        assertThat(AcceptEncoding.restrict("gzip, *;q=0")).isEqualTo("gzip, *;q=0");
        assertThat(AcceptEncoding.restrict("X-GZIP")).isEqualTo("X-GZIP");
    }

    /** The readable bytes of a buffer, leaving it as it was. */
    static final class ByteBufUtilBytes {
        static byte[] of(ByteBuf b) {
            return io.netty.buffer.ByteBufUtil.getBytes(b);
        }
    }
}
