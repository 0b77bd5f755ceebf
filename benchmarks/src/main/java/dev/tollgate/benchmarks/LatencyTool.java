package dev.tollgate.benchmarks;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * P2: latency at a constant request rate, free of coordinated omission. Each connection sends on
 * a fixed schedule (request k of connection c is due at start + (k·C + c) / rate); a response's
 * latency is measured from when its request was <em>due</em>, not from when it could be sent, so a
 * stall shows up in every request it delayed (as wrk2 does). One histogram per event loop, written
 * only by that loop, merged at the end.
 *
 * <pre>
 *   java -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.LatencyTool URL RATE [SECONDS] [CONNECTIONS] [WARMUP_SECONDS] [THREADS]
 *   java -cp benchmarks/target/benchmarks.jar dev.tollgate.benchmarks.LatencyTool http://127.0.0.1:18083/2/tweets/search/recent 30000 20 64 5
 * </pre>
 * Prints one line: {@code rate=… sent=… p50=… p99=… p99.9=… max=… sendlag_p99=… sendlag_max=…} (microseconds).
 * The send lag is how late this tool's own timer fired for a request it had to wait to send (its
 * own stalls: GC, scheduling, a busy core); such a stall is charged to the server in the latency
 * too, so the two together tell a client-side tail from a server-side one. With
 * {@code -Dlatency.slowLog=FILE} (and {@code -Dlatency.slowUs}, 2000 by default) every measured
 * response slower than that is written there, {@code EPOCH_MILLIS_RECEIVED LATENCY_US} a line, to
 * set beside a server's GC log or a load generator's activity.
 */
public final class LatencyTool {
    private LatencyTool() {
    }

    public static void main(String[] args) throws Exception {
        URI url = URI.create(args[0]);
        double rate = Double.parseDouble(args[1]);
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int connections = args.length > 3 ? Integer.parseInt(args[3]) : 64;
        int warmup = args.length > 4 ? Integer.parseInt(args[4]) : 5;
        int threads = args.length > 5 ? Integer.parseInt(args[5]) : 1;
        Result r = run(url, rate, seconds, connections, warmup, threads);
        String slowLog = System.getProperty("latency.slowLog");
        if (slowLog != null) {
            Files.write(Path.of(slowLog), r.slow, StandardCharsets.US_ASCII);
        }
        System.out.printf("rate=%.0f sent=%d p50=%d p99=%d p99.9=%d max=%d sendlag_p99=%d sendlag_max=%d%n", rate, r.count,
                r.hist.getValueAtPercentile(50), r.hist.getValueAtPercentile(99), r.hist.getValueAtPercentile(99.9), r.hist.getMaxValue(),
                r.sendLag.getValueAtPercentile(99), r.sendLag.getMaxValue());
    }

    /** {@code slow}: one line per response slower than {@code -Dlatency.slowUs}, {@code EPOCH_MILLIS_RECEIVED LATENCY_US}. */
    record Result(Histogram hist, Histogram sendLag, long count, List<String> slow) {
    }

    static Result run(URI url, double rate, int seconds, int connections, int warmupSeconds, int threads) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
        Map<EventLoop, Histogram> histograms = new ConcurrentHashMap<>();
        Map<EventLoop, Histogram> lags = new ConcurrentHashMap<>();
        Queue<String> slow = System.getProperty("latency.slowLog") == null ? null : new ConcurrentLinkedQueue<>();
        long slowMicros = Long.getLong("latency.slowUs", 2000);
        long startNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
        long recordFrom = startNanos + TimeUnit.SECONDS.toNanos(warmupSeconds);
        long endNanos = recordFrom + TimeUnit.SECONDS.toNanos(seconds);
        long intervalNanos = (long) (connections * 1e9 / rate);
        CountDownLatch finished = new CountDownLatch(connections);
        AtomicLong errors = new AtomicLong();
        String path = url.getRawPath() + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery());
        List<Channel> channels = new ArrayList<>();
        try {
            for (int c = 0; c < connections; c++) {
                long offset = (long) (c * 1e9 / rate);
                Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class).option(ChannelOption.TCP_NODELAY, true)
                        .handler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 20),
                                        new Paced(path, url.getHost() + ":" + url.getPort(), startNanos + offset, intervalNanos, recordFrom,
                                                endNanos, histograms, lags, slow, slowMicros, finished, errors));
                            }
                        });
                channels.add(b.connect(url.getHost(), url.getPort()).sync().channel());
            }
            if (!finished.await(warmupSeconds + seconds + 60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the run did not finish");
            }
        } finally {
            for (Channel ch : channels) {
                ch.close();
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        Histogram all = new Histogram(3);
        histograms.values().forEach(all::add);
        Histogram lag = new Histogram(3);
        lags.values().forEach(lag::add);
        if (errors.get() > 0) {
            System.err.println("errors: " + errors.get());
        }
        return new Result(all, lag, all.getTotalCount(), slow == null ? List.of() : new ArrayList<>(slow));
    }

    /** One connection's schedule: send when due (or at once if late), measure from when due. */
    private static final class Paced extends SimpleChannelInboundHandler<FullHttpResponse> {
        private final String path;
        private final String host;
        private final long intervalNanos;
        private final long recordFrom;
        private final long end;
        private final Map<EventLoop, Histogram> histograms;
        private final Map<EventLoop, Histogram> lags;
        private final Queue<String> slow;
        private final long slowMicros;
        private final CountDownLatch finished;
        private final AtomicLong errors;
        private long due;
        private Histogram hist;
        private Histogram lag;

        Paced(String path, String host, long firstDue, long intervalNanos, long recordFrom, long end, Map<EventLoop, Histogram> histograms,
                Map<EventLoop, Histogram> lags, Queue<String> slow, long slowMicros, CountDownLatch finished, AtomicLong errors) {
            this.path = path;
            this.host = host;
            this.due = firstDue;
            this.intervalNanos = intervalNanos;
            this.recordFrom = recordFrom;
            this.end = end;
            this.histograms = histograms;
            this.lags = lags;
            this.slow = slow;
            this.slowMicros = slowMicros;
            this.finished = finished;
            this.errors = errors;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            hist = histograms.computeIfAbsent(ctx.channel().eventLoop(), l -> new Histogram(TimeUnit.SECONDS.toMicros(60), 3));
            lag = lags.computeIfAbsent(ctx.channel().eventLoop(), l -> new Histogram(TimeUnit.SECONDS.toMicros(60), 3));
            sendWhenDue(ctx);
        }

        private void sendWhenDue(ChannelHandlerContext ctx) {
            if (due >= end) {
                finished.countDown();
                return;
            }
            long wait = due - System.nanoTime();
            if (wait > 0) {
                ctx.executor().schedule(() -> {
                    if (due >= recordFrom) {
                        lag.recordValue(Math.max(0, (System.nanoTime() - due) / 1000)); // how late this tool woke up
                    }
                    send(ctx);
                }, wait, TimeUnit.NANOSECONDS);
            } else {
                send(ctx);
            }
        }

        private void send(ChannelHandlerContext ctx) {
            DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
            req.headers().set(HttpHeaderNames.HOST, host);
            ctx.writeAndFlush(req);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse msg) {
            long now = System.nanoTime();
            if (msg.status().code() != 200) {
                errors.incrementAndGet();
            }
            if (due >= recordFrom) {
                long micros = Math.max(0, (now - due) / 1000);
                hist.recordValue(micros);
                if (slow != null && micros > slowMicros) {
                    slow.add(System.currentTimeMillis() + " " + micros);
                }
            }
            due += intervalNanos;
            sendWhenDue(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            errors.incrementAndGet();
            ctx.close();
            finished.countDown();
        }
    }
}
