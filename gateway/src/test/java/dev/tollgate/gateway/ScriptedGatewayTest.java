package dev.tollgate.gateway;

import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterListener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture of the tests that script the upstream byte by byte: a gateway on a manual clock in
 * front of a {@link ScriptedUpstream} (or any URL), raw clients, and both closed after each test.
 */
@ExtendWith(LeakCheck.class)
abstract class ScriptedGatewayTest {
    static final String ME = "net:127.0.0.0/24";

    @TempDir
    Path dir;
    final ManualClock clock = new ManualClock(GatewayFixture.T0);
    ScriptedUpstream upstream;
    Gateway gateway;

    /** A new scripted upstream and a gateway in front of it. */
    void start(String extraYaml) throws Exception {
        upstream = new ScriptedUpstream();
        start(upstream.url(), extraYaml);
    }

    /** A gateway in front of {@code upstreamUrl} (the test sets {@link #upstream} itself, if any). */
    void start(String upstreamUrl, String extraYaml) throws Exception {
        gateway = GatewayFixture.startGateway(dir, upstreamUrl, extraYaml, clock, MeterListener.none());
    }

    @AfterEach
    void stop() throws IOException {
        if (gateway != null) {
            gateway.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    RawHttp client() throws IOException {
        return new RawHttp(gateway.proxyAddress());
    }

    /** The gateway-side port of the upstream connection each scripted request came on. */
    final List<Integer> ports = new CopyOnWriteArrayList<>();

    /** {@code a}, noting the connection it answers on. */
    ScriptedUpstream.Action on(ScriptedUpstream.Action a) {
        return (s, out) -> {
            ports.add(s.getPort());
            a.perform(s, out);
        };
    }

    String metrics() {
        return new String(gateway.metrics().scrape(), StandardCharsets.UTF_8);
    }

    /** The value of a metric line carrying all of {@code labels} (0 when absent). */
    double metric(String name, String... labels) {
        for (String line : metrics().split("\n")) {
            if (!line.startsWith(name + "{")) {
                continue;
            }
            boolean all = true;
            for (String l : labels) {
                all &= line.contains(l);
            }
            if (all) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }

    double errors(String kind) {
        return metric("tollgate_errors_total", "kind=\"" + kind + "\"");
    }

    double upstreamErrors(int code) {
        return metric("tollgate_requests_total", "outcome=\"upstream_error\"", "code=\"" + code + "\"");
    }
}
