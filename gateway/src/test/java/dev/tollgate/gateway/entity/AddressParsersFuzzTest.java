package dev.tollgate.gateway.entity;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Fuzzes the address parsers a client reaches: {@link Cidr#parse} (configuration, entity
 * directory) throws nothing but a one-line IllegalArgumentException naming its key, and what it
 * accepts prints back to itself; {@link ForwardedFor#client} (every request behind a trusted
 * proxy) throws nothing and never resolves a name.
 */
class AddressParsersFuzzTest {

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void cidrParse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        Cidr c;
        try {
            c = Cidr.parse("networks[0]", text);
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).startsWith("networks[0]: ").doesNotContain("\n");
            return;
        }
        assertThat(Cidr.parse("k", c.toString())).isEqualTo(c);
    }

    @FuzzTest(maxDuration = "1h") // the cap of a fuzzing run; benchmarks/fuzz/run.sh stops it sooner
    void forwardedFor(FuzzedDataProvider data) throws Exception {
        boolean useXff = data.consumeBoolean();
        String value = data.consumeRemainingAsString();
        InetAddress peer = InetAddress.getByAddress(new byte[] {10, 0, 0, 1});
        Map<String, String> headers = Map.of(useXff ? "X-Forwarded-For" : "Forwarded", value);
        Cidr trusted = Cidr.parse("t", "10.0.0.0/8");
        InetAddress client = ForwardedFor.client(headers::get, peer, trusted::contains);
        assertThat(client).isNotNull();
    }
}
