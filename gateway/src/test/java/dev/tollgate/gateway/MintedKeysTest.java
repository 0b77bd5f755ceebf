package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.gateway.upstream.PostApiServer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, item 4: made-up API keys that the upstream refuses (a 4xx without posts) never become
 * entities, while a known entity's refused requests are still counted.
 */
@ExtendWith(LeakCheck.class)
class MintedKeysTest {
    @TempDir
    Path dir;

    @Test
    void refusedRandomKeys_createNoEntity_butAKnownOnesRefusalsCount() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            for (int i = 0; i < 20; i++) {
                assertThat(f.get("/2/nothing/here", "X-Api-Key", "made-up-" + i).statusCode()).isEqualTo(404);
            }
            assertThat(f.get("/2/tweets/search/recent?max_results=3", "X-Api-Key", "real").statusCode()).isEqualTo(200);
            assertThat(f.get("/2/nothing/here", "X-Api-Key", "real").statusCode()).isEqualTo(404);
            Await.value(f.gateway::meteredRequests, 22L, "the exchanges are done");
            Await.value(() -> f.gateway.meter().top(10).size(), 1, "the real key's entity");
            String real = f.gateway.meter().top(10).get(0).id();
            Await.value(() -> f.requests(real), 2, "its refusal is counted as a request");
            assertThat(f.posts(real)).isEqualTo(3);
            assertThat(f.gateway.meter().entityCount()).as("20 refused made-up keys and one real one").isEqualTo(1);
        }
    }
}
