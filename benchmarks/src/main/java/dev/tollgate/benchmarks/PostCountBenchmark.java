package dev.tollgate.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.counting.PostCounter;
import java.io.IOException;
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
 * P6 = {@code streamingCount} ÷ {@code jacksonReadTree} (both in pages per microsecond).
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
    final ObjectMapper mapper = new ObjectMapper();

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
}
