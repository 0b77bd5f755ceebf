package dev.tollgate.gateway.counting;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.LeakCheck;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzes the streaming post counter (SPEC §3). On an X-API-shaped document built from the
 * fuzzer's bytes, its count under a random split into pieces equals a full parse (Jackson's tree:
 * meta.result_count, else the size of the data array, else 1 for a data object); on any bytes,
 * plain or as a gzip/deflate/br/zstd coded body, nothing is thrown, every buffer is released (the
 * paranoid leak detector and {@link LeakCheck}) and decoding stays under its bound.
 */
@ExtendWith(LeakCheck.class)
class CountingFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final PooledByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;
    private static final long BOUND = 1 << 20;

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void validDocument_countEqualsFullParse(FuzzedDataProvider data) throws Exception {
        StringBuilder doc = new StringBuilder();
        Documents.xApi(data, doc);
        byte[] bytes = doc.toString().getBytes(StandardCharsets.UTF_8);
        long expected = fullParse(JSON.readTree(bytes));

        PostCounter plain = new PostCounter();
        ResponseCounter viaBuffers = ResponseCounter.create(ContentCoding.IDENTITY, ALLOC, BOUND);
        Random splits = new Random(data.consumeLong());
        int at = 0;
        while (at < bytes.length) {
            int n = 1 + splits.nextInt(Math.min(bytes.length - at, splits.nextBoolean() ? 4 : 64));
            plain.feed(ByteBuffer.wrap(bytes, at, n));
            ByteBuf piece = ALLOC.directBuffer(n).writeBytes(bytes, at, n);
            viaBuffers.feed(piece);
            piece.release();
            at += n;
        }
        plain.end();
        viaBuffers.end();
        viaBuffers.close();
        assertThat(plain.broken()).as("%s", doc).isFalse();
        assertThat(plain.complete()).as("%s", doc).isEqualTo(expected);
        assertThat(viaBuffers.problem()).isEqualTo(ResponseCounter.Problem.NONE);
        assertThat(viaBuffers.posts()).isEqualTo(expected);
    }

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void anyBytes_neverThrow_neverLeak(FuzzedDataProvider data) {
        ContentCoding coding = data.pickValue(ContentCoding.values());
        feedInPieces(coding, data);
    }

    /** SPEC §3 on a parsed tree. */
    static long fullParse(JsonNode root) {
        JsonNode meta = root.get("meta");
        if (meta != null && meta.isObject() && meta.has("result_count")) {
            return meta.get("result_count").asLong();
        }
        JsonNode d = root.get("data");
        if (d != null && d.isArray()) {
            return d.size();
        }
        return d != null && d.isObject() ? 1 : 0;
    }

    /**
     * The fuzzer's remaining bytes as a body in {@code coding}, fed in pieces of random lengths
     * (drawn from {@code splits}), alternately in direct and heap buffers.
     */
    static void feedInPieces(ContentCoding coding, FuzzedDataProvider data) {
        Random splits = new Random(data.consumeInt());
        byte[] body = data.consumeRemainingAsBytes();
        ResponseCounter c = ResponseCounter.create(coding, ALLOC, BOUND);
        List<ByteBuf> fed = new ArrayList<>();
        try {
            for (int at = 0; at < body.length;) {
                int n = 1 + splits.nextInt(Math.min(body.length - at, splits.nextBoolean() ? 8 : 4096));
                ByteBuf piece = splits.nextBoolean() ? ALLOC.directBuffer(n) : ALLOC.heapBuffer(n);
                piece.writeBytes(body, at, n);
                at += n;
                c.feed(piece);
                assertThat(piece.readerIndex()).isZero();
                fed.add(piece);
            }
            c.end();
            assertThat(c.decodedBytes()).isLessThanOrEqualTo(BOUND);
            assertThat(c.posts()).isGreaterThanOrEqualTo(0);
            c.problem();
        } finally {
            c.close();
        }
        for (ByteBuf piece : fed) {
            assertThat(piece.refCnt()).as("a piece the decoder still holds after close").isEqualTo(1);
            piece.release();
        }
    }
}
