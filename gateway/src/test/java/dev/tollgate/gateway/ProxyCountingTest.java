package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.gateway.upstream.PostApiServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Post counting through the real proxy in front of the built-in post API, over loopback. */
@ExtendWith(LeakCheck.class)
class ProxyCountingTest {
    static final String ME = "net:127.0.0.0/24";

    @TempDir
    Path dir;

    @Test
    void jsonCount_contentLengthBody_countsResultCount_andForwardsBodyUnchanged() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            HttpResponse<String> viaGateway = f.get("/2/tweets/search/recent?max_results=37&query=rain");
            HttpResponse<String> direct = f.http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + f.upstreamAddress.getPort() + "/2/tweets/search/recent?max_results=37&query=rain"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(viaGateway.statusCode()).isEqualTo(200);
            assertThat(viaGateway.body()).isEqualTo(direct.body());
            assertThat(viaGateway.headers().firstValue("Via")).hasValue("1.1 tollgate");
            Await.value(() -> f.posts(ME), 37, "posts");
            assertThat(f.requests(ME)).isEqualTo(1);
        }
    }

    @Test
    void headerCount_isTrusted_andRemovedBeforeTheClient() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, new PostApiServer.Options(10, true, false), "")) {
            HttpResponse<String> r = f.get("/2/users/42/tweets?max_results=25");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("X-Post-Count")).isEmpty();
            Await.value(() -> f.posts(ME), 25, "posts");
        }
    }

    @Test
    void jsonCount_chunkedBody_isExact_andClientGetsChunked() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, new PostApiServer.Options(10, false, true), "");
             RawHttp c = f.raw()) {
            RawHttp.Response r = c.exchange(RawHttp.get("/2/tweets/search/recent?max_results=100"));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("Transfer-Encoding")).isEqualTo("chunked");
            assertThat(r.text()).startsWith("{\"data\":[").contains("\"result_count\":100");
            Await.value(() -> f.posts(ME), 100, "posts");
        }
    }

    @Test
    void singlePost_countsOne_andErrorsCountNone() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            assertThat(f.get("/2/tweets/1860000000000000042").statusCode()).isEqualTo(200);
            assertThat(f.get("/2/nothing/here").statusCode()).isEqualTo(404);
            assertThat(f.get("/2/tweets/search/recent?max_results=500").statusCode()).isEqualTo(400);
            Await.value(() -> f.requests(ME), 3, "requests");
            assertThat(f.posts(ME)).isEqualTo(1);
        }
    }

    @Test
    void head_forwardsNoBody_andCountsNoPosts() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, new PostApiServer.Options(10, true, false), "");
             RawHttp c = f.raw()) {
            RawHttp.Response head = c.exchange("HEAD /2/tweets/search/recent HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.body()).isEmpty();
            RawHttp.Response get = c.exchange(RawHttp.get("/2/tweets/search/recent"));
            assertThat(get.header("Content-Length")).isEqualTo(head.header("Content-Length"));
            Await.value(() -> f.requests(ME), 2, "requests");
            assertThat(f.posts(ME)).as("only the GET delivered posts").isEqualTo(10);
        }
    }

    @Test
    void keepAlive_andPipelinedRequests_areAnsweredInOrderOnOneConnection() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "");
             RawHttp c = f.raw()) {
            c.send(RawHttp.get("/2/tweets/search/recent?max_results=3") + RawHttp.get("/2/tweets/search/recent?max_results=4")
                    + RawHttp.get("/2/tweets/search/recent?max_results=5"));
            for (int n = 3; n <= 5; n++) {
                RawHttp.Response r = c.read(false);
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.text()).contains("\"result_count\":" + n);
            }
            for (int i = 0; i < 20; i++) {
                assertThat(c.exchange(RawHttp.get("/2/tweets/search/recent?max_results=1")).status()).isEqualTo(200);
            }
            Await.value(() -> f.posts(ME), 3 + 4 + 5 + 20, "posts");
            assertThat(f.upstream.requests()).isEqualTo(23);
        }
    }

    @Test
    void largeRequestAndResponseBodies_streamThrough() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            String text = "x".repeat(8 << 20);
            HttpResponse<String> r = f.http.send(HttpRequest.newBuilder(f.url("/2/tweets"))
                    .POST(HttpRequest.BodyPublishers.ofString(text)).header("Content-Type", "text/plain").build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(201);
            String prefix = "{\"data\":{\"id\":\"1900000000000000001\",\"text\":\"";
            assertThat(r.body().length()).isEqualTo(prefix.length() + text.length() + 3);
            assertThat(r.body().startsWith(prefix) && r.body().endsWith(text + "\"}}")).as("body forwarded intact").isTrue();
            Await.value(() -> f.posts(ME), 1, "posts");
        }
    }

    @Test
    void chunkedRequestBody_withExpectContinue_isForwarded() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "");
             RawHttp c = f.raw()) {
            c.send("POST /2/tweets HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
            assertThat(c.read(false).status()).isEqualTo(100);
            c.send("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
            RawHttp.Response r = c.read(false);
            assertThat(r.status()).isEqualTo(201);
            assertThat(r.text()).contains("\"text\":\"hello world\"");
        }
    }

    @Test
    void http10Client_getsCloseDelimitedOrSizedBody() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, new PostApiServer.Options(10, false, true), "");
             RawHttp c = f.raw()) {
            RawHttp.Response r = c.exchange("GET /2/tweets/search/recent HTTP/1.0\r\n\r\n");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("Transfer-Encoding")).isNull();
            assertThat(r.text()).contains("\"result_count\":10");
            Await.value(() -> f.posts(ME), 10, "posts");
        }
    }

    @Test
    void countingDisabled_isAPlainPassThrough() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, new PostApiServer.Options(10, true, false), "counting:\n  enabled: false\n")) {
            HttpResponse<String> r = f.get("/2/tweets/search/recent?max_results=5");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("\"result_count\":5");
            assertThat(r.headers().firstValue("X-Post-Count")).isEmpty();
            Await.value(f.gateway::meteredRequests, 1, "the exchange is done");
            assertThat(f.gateway.meter().entityCount()).isZero();
        }
    }
}
