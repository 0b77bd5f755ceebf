package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.gateway.upstream.PostApiServer;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slow and greedy clients over real sockets: slowloris connections answered 408 and closed by the
 * head deadline, caps on connections per client address and in total, each refusal counted, and
 * ordinary clients (and the admin API) served all along.
 */
@ExtendWith(LeakCheck.class)
class SlowClientsTest {
    @TempDir
    Path dir;

    private static Socket connect(InetSocketAddress to, String from) throws Exception {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(to, 2000);
        s.setSoTimeout(10_000);
        return s;
    }

    /** Until the gateway has taken in {@code n} connections (accepting is asynchronous). */
    private static void awaitOpen(GatewayFixture f, int n) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!f.admin("/metrics").body().contains("tollgate_open_connections " + n + ".0")) {
            assertThat(System.nanoTime()).as("%d connections open", n).isLessThan(deadline);
            Thread.onSpinWait();
        }
    }

    private static String readAll(Socket s) throws Exception {
        InputStream in = s.getInputStream();
        return new String(in.readAllBytes(), StandardCharsets.US_ASCII); // until the gateway closes
    }

    @Test
    void slowloris_200Connections_allAnswered408_byTheHeadDeadline_whileOthersAreServed() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(),
                "limits:\n  requestHeadTimeout: 300ms\n  clientIdleTimeout: 60s\n")) {
            List<Socket> slow = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                Socket s = connect(f.gateway.proxyAddress(), "127.0.0.3");
                s.getOutputStream().write("GET /2/tweets HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
                slow.add(s);
            }
            assertThat(f.get("/2/tweets/search/recent?max_results=3").statusCode()).as("an ordinary client meanwhile").isEqualTo(200);
            for (Socket s : slow) {
                assertThat(readAll(s)).startsWith("HTTP/1.1 408 ");
                s.close();
            }
            assertThat(f.admin("/metrics").body()).contains("tollgate_refusals_total{reason=\"head_timeout\"} 200.0");
        }
    }

    @Test
    void perClientCap_refusesTheSixthConnection_othersServed_releasedOnClose() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "limits:\n  maxConnectionsPerClient: 5\n")) {
            List<Socket> held = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                held.add(connect(f.gateway.proxyAddress(), "127.0.0.2"));
            }
            awaitOpen(f, 5);
            Socket sixth = connect(f.gateway.proxyAddress(), "127.0.0.2");
            assertThat(sixth.getInputStream().read()).as("closed at once").isEqualTo(-1);
            sixth.close();
            held.remove(0).close();
            awaitOpen(f, 4);
            try (Socket again = connect(f.gateway.proxyAddress(), "127.0.0.2")) {
                again.getOutputStream().write("GET /2/tweets/search/recent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                assertThat(readAll(again)).as("the freed slot is taken").startsWith("HTTP/1.1 200");
            }
            assertThat(f.get("/2/tweets/search/recent?max_results=2").statusCode()).as("another client").isEqualTo(200);
            for (Socket s : held) {
                s.close();
            }
            assertThat(f.admin("/metrics").body()).contains("tollgate_refusals_total{reason=\"max_connections_per_client\"}");
        }
    }

    @Test
    void totalCap_refusesPastIt_adminApiStillAnswers() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "limits:\n  maxConnections: 10\n")) {
            List<Socket> held = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                held.add(connect(f.gateway.proxyAddress(), "127.0.0.1"));
            }
            awaitOpen(f, 10);
            Socket eleventh = connect(f.gateway.proxyAddress(), "127.0.0.1");
            assertThat(eleventh.getInputStream().read()).isEqualTo(-1);
            eleventh.close();
            String metrics = f.admin("/metrics").body();
            assertThat(metrics).contains("tollgate_refusals_total{reason=\"max_connections\"} 1.0").contains("tollgate_max_connections 10.0");
            for (Socket s : held) {
                s.close();
            }
        }
    }
}
