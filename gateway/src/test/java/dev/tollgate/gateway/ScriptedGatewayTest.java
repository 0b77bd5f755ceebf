package dev.tollgate.gateway;

import dev.tollgate.meter.ManualClock;
import dev.tollgate.meter.MeterListener;
import java.io.IOException;
import java.nio.file.Path;
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
}
