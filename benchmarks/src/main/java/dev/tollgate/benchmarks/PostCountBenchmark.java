package dev.tollgate.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.counting.ContentCoding;
import dev.tollgate.gateway.counting.PostCounter;
import dev.tollgate.gateway.counting.ResponseCounter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.compression.Decompressor;
import io.netty.handler.codec.compression.JdkZlibDecompressor;
import io.netty.handler.codec.compression.ZlibWrapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.zip.GZIPOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * P6: counting the posts of a 100-post X API page as it streams by (the gateway's
 * {@link PostCounter}, fed in network-sized pieces) against parsing the whole page with Jackson's
 * {@code readTree} and reading {@code meta.result_count}.
 *
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar PostCountBenchmark -f 1 -wi 3 -i 5 -w 2s -r 3s
 * </pre>
 * P6 = {@code streamingCount} ÷ {@code jacksonReadTree} (both in pages per millisecond). With
 * compression (the page gzipped, as an upstream answering {@code Accept-Encoding: gzip} sends it):
 * P6 gzip = {@code gzipStreamingCount} (Netty's gzip decoder feeding the counter, decoded chunks
 * released as they are scanned: the gateway's path) ÷ {@code gzipReadTree} (the same decoder, the
 * whole page gathered, then {@code readTree}); {@code gzipDecodeOnly} is the decoding alone.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Thread)
public class PostCountBenchmark {
    @Param({"100"})
    public int posts;
    @Param({"8192"})
    public int piece;

    byte[] page;
    byte[] gzipped;
    ByteBuf[] gzipPieces;
    final ObjectMapper mapper = new ObjectMapper();
    final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom r = new SplittableRandom(1);
        StringBuilder b = new StringBuilder("{\"data\":[");
        for (int i = 0; i < posts; i++) {
            b.append(i == 0 ? "" : ",").append("{\"id\":\"").append(1_860_000_000_000_000_000L + i).append("\",\"text\":\"");
            for (int w = 0; w < 20; w++) {
                b.append(w == 0 ? "" : " ").append(Long.toString(r.nextLong(1L << 40), 36));
            }
            b.append("\",\"author_id\":\"").append(r.nextInt(9_000_000)).append("\",\"created_at\":\"2026-11-22T08:41:53.000Z\",")
                    .append("\"lang\":\"en\",\"public_metrics\":{\"retweet_count\":").append(r.nextInt(500)).append(",\"reply_count\":")
                    .append(r.nextInt(200)).append(",\"like_count\":").append(r.nextInt(5000)).append(",\"quote_count\":").append(r.nextInt(50))
                    .append("}}");
        }
        b.append("],\"meta\":{\"newest_id\":\"1\",\"oldest_id\":\"2\",\"result_count\":").append(posts).append(",\"next_token\":\"x\"}}");
        page = b.toString().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(z)) {
            out.write(page);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        gzipped = z.toByteArray();
        ByteBuf all = Unpooled.wrappedBuffer(gzipped);
        gzipPieces = new ByteBuf[(gzipped.length + piece - 1) / piece];
        for (int i = 0; i < gzipPieces.length; i++) {
            gzipPieces[i] = all.slice(i * piece, Math.min(piece, gzipped.length - i * piece));
        }
    }

    @Benchmark
    public long streamingCount() {
        PostCounter c = new PostCounter();
        for (int at = 0; at < page.length; at += piece) {
            c.feed(ByteBuffer.wrap(page, at, Math.min(piece, page.length - at)));
        }
        c.end();
        return c.complete();
    }

    @Benchmark
    public long jacksonReadTree() throws IOException {
        JsonNode root = mapper.readTree(page);
        JsonNode count = root.path("meta").path("result_count");
        return count.isNumber() ? count.asLong() : root.path("data").size();
    }

    @Benchmark
    public long gzipStreamingCount() {
        try (ResponseCounter c = ResponseCounter.create(ContentCoding.GZIP, alloc, Long.MAX_VALUE)) {
            for (ByteBuf p : gzipPieces) {
                c.feed(p);
            }
            c.end();
            return c.posts();
        }
    }

    @Benchmark
    public long gzipReadTree() throws IOException {
        JsonNode root = mapper.readTree(gunzip());
        JsonNode count = root.path("meta").path("result_count");
        return count.isNumber() ? count.asLong() : root.path("data").size();
    }

    @Benchmark
    public long gzipDecodeOnly() {
        long n = 0;
        Decompressor d = newGzip();
        try {
            for (ByteBuf p : gzipPieces) {
                if (d.status() != Decompressor.Status.NEED_INPUT) {
                    break; // the gzip stream is complete
                }
                d.addInput(p.retainedDuplicate());
                while (d.status() == Decompressor.Status.NEED_OUTPUT) {
                    ByteBuf out = d.takeOutput();
                    n += out.readableBytes();
                    out.release();
                }
            }
        } finally {
            d.close();
        }
        return n;
    }

    private Decompressor newGzip() {
        return JdkZlibDecompressor.builder().wrapper(ZlibWrapper.GZIP).maxAllocation(64 * 1024).build(alloc);
    }

    /** The whole page decoded by the same decoder the gateway uses, gathered in one array. */
    private byte[] gunzip() {
        ByteArrayOutputStream whole = new ByteArrayOutputStream(page.length);
        Decompressor d = newGzip();
        try {
            for (ByteBuf p : gzipPieces) {
                if (d.status() != Decompressor.Status.NEED_INPUT) {
                    break; // the gzip stream is complete
                }
                d.addInput(p.retainedDuplicate());
                while (d.status() == Decompressor.Status.NEED_OUTPUT) {
                    ByteBuf out = d.takeOutput();
                    try {
                        out.readBytes(whole, out.readableBytes());
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    } finally {
                        out.release();
                    }
                }
            }
        } finally {
            d.close();
        }
        return whole.toByteArray();
    }
}
