package dev.tollgate.gateway;

import dev.tollgate.gateway.config.ConfigLoader;
import dev.tollgate.gateway.config.GatewayConfig;
import dev.tollgate.gateway.proxy.Transport;
import dev.tollgate.gateway.upstream.PostApiServer;
import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterListener;
import dev.tollgate.meter.ledger.Ledger;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * The built-in post API and a gateway in front of it, both on loopback ports, with a clock the
 * test moves. Extra YAML is appended to the generated configuration.
 */
final class GatewayFixture implements AutoCloseable {
    /** 2026-11-24T00:00:00Z. */
    static final long T0 = 1_795_478_400_000L;

    final ManualClock clock = new ManualClock(T0);
    final Path dir;
    final EventLoopGroup upstreamGroup = Transport.nio().group(1);
    final PostApiServer upstream;
    final InetSocketAddress upstreamAddress;
    final Gateway gateway;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    GatewayFixture(Path dir, PostApiServer.Options upstreamOptions, String extraYaml) throws Exception {
        this(dir, upstreamOptions, extraYaml, MeterListener.none());
    }

    GatewayFixture(Path dir, PostApiServer.Options upstreamOptions, String extraYaml, MeterListener listener) throws Exception {
        this(dir, upstreamOptions, extraYaml, listener, UnaryOperator.identity());
    }

    /** With {@code ledgerDisk} wrapping the ledger file (tests hold or fail its writes there). */
    GatewayFixture(Path dir, PostApiServer.Options upstreamOptions, String extraYaml, MeterListener listener,
            UnaryOperator<Ledger.Disk> ledgerDisk) throws Exception {
        this.dir = dir;
        upstream = new PostApiServer(upstreamOptions, Transport.nio());
        upstreamAddress = upstream.start(new InetSocketAddress("127.0.0.1", 0), upstreamGroup, upstreamGroup);
        gateway = startGateway(dir, "http://127.0.0.1:" + upstreamAddress.getPort(), extraYaml, clock, listener, ledgerDisk);
    }

    static Gateway startGateway(Path dir, String upstreamUrl, String extraYaml, ManualClock clock, MeterListener listener)
            throws IOException, InterruptedException {
        return startGateway(dir, upstreamUrl, extraYaml, clock, listener, UnaryOperator.identity());
    }

    static Gateway startGateway(Path dir, String upstreamUrl, String extraYaml, ManualClock clock, MeterListener listener,
            UnaryOperator<Ledger.Disk> ledgerDisk) throws IOException, InterruptedException {
        String yaml = "listen: 127.0.0.1:0\nupstream:\n  url: " + upstreamUrl + "\n  connectTimeout: 1s\n  responseTimeout: 2s\n"
                + "admin:\n  listen: 127.0.0.1:0\ndataDir: data\n" + extraYaml;
        Path file = dir.resolve("tollgate.yaml");
        Files.writeString(file, yaml);
        GatewayConfig config = ConfigLoader.load(file);
        return Gateway.start(config, Gateway.Options.defaults().withClock(clock).withListener(listener).manualTicks().withLedgerDisk(ledgerDisk));
    }

    URI url(String path) {
        return URI.create("http://127.0.0.1:" + gateway.proxyAddress().getPort() + path);
    }

    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(url(path)).GET();
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> admin(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.adminAddress().getPort() + path))
                .header("Authorization", "Bearer " + gateway.adminToken()).build(), HttpResponse.BodyHandlers.ofString());
    }

    RawHttp raw() throws IOException {
        return new RawHttp(gateway.proxyAddress());
    }

    long posts(String entity) {
        return gateway.meter().posts24h(entity);
    }

    long requests(String entity) {
        return gateway.meter().requests24h(entity);
    }

    @Override
    public void close() {
        gateway.close();
        upstream.stop();
        upstreamGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
