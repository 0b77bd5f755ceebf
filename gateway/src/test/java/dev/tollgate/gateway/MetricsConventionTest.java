package dev.tollgate.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.upstream.PostApiServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code /metrics} by Prometheus convention, and the Grafana dashboard in {@code config/} uses only metrics that exist. */
@ExtendWith(LeakCheck.class)
class MetricsConventionTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** A metric name in a PromQL expression: followed by a selector, a range or the end of a call. */
    static final Pattern NAME = Pattern.compile("\\b((?:tollgate|jvm|process)_[a-z0-9_]+)\\b");

    @TempDir
    Path dir;

    @Test
    void jvmProcessBuildAndConnectionMetrics_inBaseUnits() throws Exception {
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            f.get("/2/tweets/search/recent?max_results=5");
            String m = f.admin("/metrics").body();
            assertThat(m).contains("jvm_memory_used_bytes{area=\"heap\"}", "jvm_gc_collection_seconds_count", "process_open_fds ",
                    "process_cpu_seconds_total ", "tollgate_open_connections ", "tollgate_build_info{java=\"",
                    "tollgate_journal_last_flush_timestamp_seconds ", "tollgate_snapshot_last_timestamp_seconds ", "# TYPE tollgate_request_duration_seconds histogram");
            assertThat(m).as("no milliseconds anywhere").doesNotContain("_millis");
        }
    }

    @Test
    void grafanaDashboard_usesOnlyMetricsThatExist() throws Exception {
        JsonNode dashboard = JSON.readTree(Files.readString(Path.of("..", "config", "grafana-dashboard.json")));
        List<String> exprs = new ArrayList<>();
        dashboard.get("panels").forEach(p -> p.get("targets").forEach(t -> exprs.add(t.get("expr").asText())));
        dashboard.get("templating").get("list").forEach(v -> {
            if (v.has("query") && v.get("query").isTextual()) {
                exprs.add(v.get("query").asText());
            }
        });
        assertThat(exprs).hasSizeGreaterThan(15);
        Set<String> used = new TreeSet<>();
        for (String e : exprs) {
            Matcher matcher = NAME.matcher(e);
            while (matcher.find()) {
                used.add(family(matcher.group(1)));
            }
        }
        try (GatewayFixture f = new GatewayFixture(dir, PostApiServer.Options.defaults(), "")) {
            f.get("/2/tweets/search/recent?max_results=5");
            Set<String> exposed = new TreeSet<>();
            for (String line : f.admin("/metrics").body().split("\n")) {
                if (line.startsWith("# TYPE ")) {
                    exposed.add(family(line.split(" ")[2]));
                }
            }
            assertThat(exposed).as("every metric a panel queries is exposed").containsAll(used);
        }
    }

    /** The family a sample name belongs to: without the suffixes the text format adds. */
    static String family(String name) {
        return name.replaceAll("_(bucket|sum|count|total|created|info)$", "");
    }
}
