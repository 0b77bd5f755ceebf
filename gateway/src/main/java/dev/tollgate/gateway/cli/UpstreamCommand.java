package dev.tollgate.gateway.cli;

import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.gateway.upstream.PostApiServer;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tollgate upstream}: the built-in post API on its own, for trials and benchmarks. */
@Command(name = "upstream", mixinStandardHelpOptions = true,
        description = "Serve the built-in post API (X API v2 shaped JSON): /2/tweets/search/recent, /2/users/{id}/tweets, /2/tweets/{id}.")
final class UpstreamCommand implements Callable<Integer> {
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to bind (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "8081", description = "port (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--page-size", defaultValue = "10", description = "posts per page without max_results (default: ${DEFAULT-VALUE})")
    int pageSize;

    @Option(names = "--post-count-header", description = "send the trusted X-Post-Count header")
    boolean postCountHeader;

    @Option(names = "--chunked", description = "send chunked bodies instead of Content-Length")
    boolean chunked;

    @Option(names = "--compress", description = "compress bodies in the coding the client's Accept-Encoding prefers (gzip, deflate, br, zstd)")
    boolean compress;

    @Override
    public Integer call() throws Exception {
        if (pageSize < 1 || pageSize > 100) {
            throw new IllegalArgumentException("--page-size: " + pageSize + " (expected: 1..100)");
        }
        Transport transport = Transport.best();
        EventLoopGroup group = transport.group(Runtime.getRuntime().availableProcessors());
        PostApiServer server = new PostApiServer(new PostApiServer.Options(pageSize, postCountHeader, chunked, compress), transport);
        InetSocketAddress at = server.start(new InetSocketAddress(host, port), group, group);
        System.out.println("built-in post API on http://" + at.getHostString() + ":" + at.getPort()
                + "  (try /2/tweets/search/recent?max_results=100)");
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop();
            group.shutdownGracefully();
            stopped.countDown();
        }, "upstream-shutdown"));
        stopped.await();
        return 0;
    }
}
