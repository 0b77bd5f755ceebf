package dev.tollgate.benchmarks;

import dev.tollgate.gateway.proxy.RequestHeadValidator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cost of the strict head check the gateway runs on each request before Netty parses it: one
 * well-formed, typical API request head (request line and 9 fields, 420 bytes) checked from
 * scratch per operation, in a direct buffer as it comes off the socket; beside a bare pass over
 * the bytes (the floor) and Netty's own parse of the head (the work it adds to).
 *
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar HeadValidatorBenchmark -f 1 -wi 3 -i 5 -w 1s -r 2s
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class HeadValidatorBenchmark {
    static final String HEAD = "GET /2/tweets/search/recent?query=from%3Aexample&max_results=100&tweet.fields=created_at HTTP/1.1\r\n"
            + "Host: api.example.com\r\n"
            + "User-Agent: scraper/1.0 (+https://example.org/bot)\r\n"
            + "Accept: application/json\r\n"
            + "Accept-Encoding: gzip, br\r\n"
            + "Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI\r\n"
            + "X-Api-Key: k-0123456789abcdef\r\n"
            + "X-Request-Id: 7f3e2a10-54c1-4b1e-9a42-0d1f2e3c4b5a\r\n"
            + "Connection: keep-alive\r\n"
            + "Cache-Control: no-cache\r\n"
            + "\r\n";

    private ByteBuf head;
    private RequestHeadValidator validator;
    private EmbeddedChannel netty;

    @Setup(Level.Trial)
    public void setUp() {
        byte[] bytes = HEAD.getBytes(StandardCharsets.US_ASCII);
        head = Unpooled.directBuffer(bytes.length).writeBytes(bytes);
        validator = new RequestHeadValidator(16 * 1024);
        netty = new EmbeddedChannel(new HttpRequestDecoder());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        head.release();
        netty.finishAndReleaseAll();
    }

    /** For scale: Netty's own parse of the same head (which the check precedes), through a channel. */
    @Benchmark
    public int nettyDecode() {
        netty.writeInbound(head.retainedDuplicate());
        int n = 0;
        Object m;
        while ((m = netty.readInbound()) != null) {
            ReferenceCountUtil.release(m);
            n++;
        }
        return n;
    }

    /** The floor: one pass over the same bytes that only looks for the end of the head (as any parser must). */
    @Benchmark
    public int findHeadEndOnly() {
        return head.forEachByte(HeadValidatorBenchmark::notEndOfHead);
    }

    private static boolean notEndOfHead(byte b) {
        return b != 0;
    }

    @Benchmark
    public int validateHead() {
        validator.reset();
        return validator.feed(head);
    }
}
