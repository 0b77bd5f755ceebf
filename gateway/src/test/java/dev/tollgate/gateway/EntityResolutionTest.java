package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.gateway.upstream.PostApiServer;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Entities joined across API keys, accounts and addresses (SPEC §4), through the real proxy. */
@ExtendWith(LeakCheck.class)
class EntityResolutionTest {
    static final String DIRECTORY = """
            entities:
              - id: acme
                name: Acme Data Ltd
                contact: legal@acme.example
                apiKeys: [k-acme-1, k-acme-2]
                accounts: ["4242"]
                networks: [198.51.100.0/24, 2001:db8:42::/48]
              - id: acme-lab
                name: Acme Lab
                networks: [198.51.100.128/25]
            """;

    @TempDir
    Path dir;

    GatewayFixture fixture(String extra) throws Exception {
        Files.writeString(dir.resolve("entities.yaml"), DIRECTORY);
        return new GatewayFixture(dir, PostApiServer.Options.defaults(), "entities:\n  directory: entities.yaml\n" + extra);
    }

    static final String PAGE = "/2/tweets/search/recent?max_results=10";

    @Test
    void keysAccountsAndNetworks_joinIntoOneEntity() throws Exception {
        try (GatewayFixture f = fixture("")) {
            f.get(PAGE, "Authorization", "Bearer k-acme-1");
            f.get(PAGE, "X-Api-Key", "k-acme-2");
            f.get(PAGE, "X-Account-Id", "4242");
            f.get(PAGE, "X-Forwarded-For", "198.51.100.7");
            f.get(PAGE, "X-Forwarded-For", "2001:db8:42:ffff::1");
            Await.value(() -> f.posts("acme"), 50, "acme's posts");
            assertThat(f.requests("acme")).isEqualTo(5);
            assertThat(f.posts("net:127.0.0.0/24")).isZero();

            HttpResponse<String> e = f.admin("/api/v1/entities/acme");
            assertThat(e.statusCode()).isEqualTo(200);
            assertThat(e.body()).contains("\"name\" : \"Acme Data Ltd\"", "\"posts24h\" : 50", "\"account:4242\"",
                    "\"net:198.51.100.0/24\"", "\"net:2001:db8:42::/48\"", ":me-1\"", ":me-2\"")
                    .doesNotContain("k-acme-1", "k-acme-2");
        }
    }

    @Test
    void longestPrefixWins_andUnknownIdentifiersAreTheirOwnEntity() throws Exception {
        try (GatewayFixture f = fixture("")) {
            f.get(PAGE, "X-Forwarded-For", "198.51.100.200");
            f.get(PAGE, "X-Forwarded-For", "203.0.113.77");
            f.get(PAGE, "X-Account-Id", "9999");
            f.get(PAGE, "Authorization", "Bearer not-in-directory-abcd");
            Await.value(() -> f.posts("acme-lab"), 10, "the /25 wins over the /24");
            Await.value(() -> f.posts("net:203.0.113.0/24"), 10, "an address outside the directory, aggregated to /24");
            Await.value(() -> f.posts("account:9999"), 10, "an account outside the directory");
            Await.value(f.gateway::meteredRequests, 4, "all four charged"); // a charge lands just after the response's last byte
            assertThat(f.posts("acme")).isZero();
            String top = f.admin("/api/v1/entities?top=10").body();
            assertThat(top).containsPattern("\"id\" : \"key:[0-9a-f]{16}:abcd\"").doesNotContain("not-in-directory");
        }
    }

    @Test
    void untrustedPeer_forwardedForAndAccountAreIgnored() throws Exception {
        try (GatewayFixture f = fixture("  trustedProxies: [10.0.0.0/8]\n")) {
            f.get(PAGE, "X-Forwarded-For", "198.51.100.7");
            f.get(PAGE, "X-Account-Id", "4242");
            f.get(PAGE, "Forwarded", "for=198.51.100.9");
            Await.value(() -> f.posts("net:127.0.0.0/24"), 30, "all charged to the real peer");
            assertThat(f.posts("acme")).isZero();
        }
    }

    @Test
    void trustedChain_rightmostUntrustedAddressIsTheClient() throws Exception {
        try (GatewayFixture f = fixture("  trustedProxies: [127.0.0.1/32, 10.0.0.0/8]\n")) {
            // the client wrote a fake left-most entry; 10.1.2.3 is a trusted proxy of ours
            f.get(PAGE, "X-Forwarded-For", "198.51.100.7, 203.0.113.50, 10.1.2.3");
            f.get(PAGE, "Forwarded", "for=198.51.100.7, for=\"[2001:db8:42::9]:4711\"");
            Await.value(() -> f.posts("net:203.0.113.0/24"), 10, "the right-most untrusted XFF entry");
            Await.value(() -> f.posts("acme"), 10, "the Forwarded for= entry, IPv6 with a port");
        }
    }

    @Test
    void directory_reloadsOnChange_andABadFileKeepsThePreviousOne() throws Exception {
        try (GatewayFixture f = fixture("")) {
            Path file = dir.resolve("entities.yaml");
            Files.writeString(file, DIRECTORY.replace("k-acme-2]", "k-acme-2, k-new-1]"));
            f.gateway.tick();
            f.get(PAGE, "X-Api-Key", "k-new-1");
            Await.value(() -> f.posts("acme"), 10, "the new key is acme's");

            Files.writeString(file, "entities:\n  - id: acme\n    apiKeys: [k-x]\n  - id: acme\n");
            f.gateway.tick();
            f.get(PAGE, "X-Api-Key", "k-new-1");
            Await.value(() -> f.posts("acme"), 20, "the previous directory stays in force");
            assertThat(f.gateway.directory().rejects()).isEqualTo(1);
            assertThat(new String(f.gateway.metrics().scrape(), StandardCharsets.UTF_8)).contains("tollgate_directory_rejects_total 1.0");
        }
    }
}
