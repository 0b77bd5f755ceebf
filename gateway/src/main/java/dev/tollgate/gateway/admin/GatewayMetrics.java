package dev.tollgate.gateway.admin;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.LongSupplier;

/**
 * The gateway's Prometheus metrics (SPEC §7), in a registry of its own (no global state), written
 * in the Prometheus text format by {@code GET /metrics}. Recording is lock-free: the client
 * library's counters are striped adders.
 */
public final class GatewayMetrics {
    /** Error kinds, the values of the {@code kind} label of {@code tollgate_errors_total}. */
    public enum ErrorKind {
        UPSTREAM_CONNECT, UPSTREAM_TIMEOUT, UPSTREAM_RESET, BAD_REQUEST, CLIENT_ABORT, BAD_POST_COUNT, JSON_COUNT,
        DIRECTORY_RELOAD, LEDGER, JOURNAL,
        /** A compressed body broke: counted up to the break. */
        DECODE,
        /** A compressed body decoded past {@code counting.maxDecodedBytes}: counted up to the bound. */
        DECODE_LIMIT,
        /** A JSON body in a content coding the counter cannot read, without a post-count header: counted 0. */
        UNREADABLE_ENCODING,
        /** A 206 partial response without a post-count header: counted 0. */
        PARTIAL_CONTENT,
        /** The upstream broke HTTP framing: a malformed status line or header, broken chunking (502, or the response cut). */
        UPSTREAM_MALFORMED,
        /** The upstream's status line or headers exceeded the decoder's limits (502). */
        UPSTREAM_TOO_LARGE,
        /** The upstream sent bytes after a complete response (a body after HEAD, 204 or 304) or while idle: connection closed. */
        UPSTREAM_EXTRA_BYTES,
        /** The upstream answered before the request was complete: relayed, then both connections closed. */
        UPSTREAM_EARLY_RESPONSE;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Counter posts;
    private final Counter errors;
    private final Counter refusals;
    private final Histogram upstreamLatency;
    private final Histogram requestDuration;
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

    public GatewayMetrics() {
        requests = Counter.builder().name("tollgate_requests_total").help("Requests answered, by outcome (forwarded, blocked, rejected, upstream_error)")
                .labelNames("outcome", "code").register(registry);
        posts = Counter.builder().name("tollgate_posts_total").help("Posts served to clients and metered").register(registry);
        errors = Counter.builder().name("tollgate_errors_total").help("Errors by kind").labelNames("kind").register(registry);
        for (ErrorKind k : ErrorKind.values()) {
            errors.labelValues(k.label());
        }
        refusals = Counter.builder().name("tollgate_refusals_total")
                .help("Connections and requests refused, by reason (head_timeout, max_connections, max_connections_per_client, ...)")
                .labelNames("reason").register(registry);
        for (String reason : new String[] {"malformed", "host", "framing", "target", "method", "version", "expectation", "uri_too_long",
            "headers_too_large", "malformed_body", "head_timeout", "body_timeout", "max_connections", "max_connections_per_client"}) {
            refusals.labelValues(reason); // present at 0 from the start, as Prometheus prefers
        }
        upstreamLatency = Histogram.builder().name("tollgate_upstream_latency_seconds")
                .help("Time from sending a request upstream to its response head").classicOnly()
                .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
                .register(registry);
        requestDuration = Histogram.builder().name("tollgate_request_duration_seconds")
                .help("Time from a request's head arriving to its response's end (forwarded, blocked, refused or failed)").classicOnly()
                .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
                .register(registry);
        JvmMetrics.builder().register(registry); // heap, GC, threads, classes; process CPU, memory and open file descriptors
        Info.builder().name("tollgate_build_info").help("The running build: version and Java runtime").labelNames("version", "java")
                .register(registry).addLabelValues(BUILD_VERSION, System.getProperty("java.runtime.version", "unknown"));
    }

    /** The version the build wrote into {@code build.properties}; "unknown" when run from unbuilt classes. */
    public static final String BUILD_VERSION = buildVersion();

    private static String buildVersion() {
        try (var in = GatewayMetrics.class.getResourceAsStream("/dev/tollgate/gateway/build.properties")) {
            if (in == null) {
                return "unknown";
            }
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Data points by outcome and status code, looked up once: the request path only increments. */
    private final java.util.concurrent.ConcurrentHashMap<String, io.prometheus.metrics.core.datapoints.CounterDataPoint[]> byOutcome =
            new java.util.concurrent.ConcurrentHashMap<>();

    public void request(String outcome, int code) {
        io.prometheus.metrics.core.datapoints.CounterDataPoint[] points = byOutcome.computeIfAbsent(outcome,
                o -> new io.prometheus.metrics.core.datapoints.CounterDataPoint[600]);
        if (code < 100 || code >= 600) {
            requests.labelValues(outcome, Integer.toString(code)).inc();
            return;
        }
        io.prometheus.metrics.core.datapoints.CounterDataPoint p = points[code];
        if (p == null) {
            p = requests.labelValues(outcome, Integer.toString(code));
            points[code] = p; // racy but idempotent: labelValues gives the same data point
        }
        p.inc();
    }

    public void posts(long n) {
        if (n > 0) {
            posts.inc(n);
        }
    }

    /** A connection or request refused for {@code reason} (a short snake_case word). */
    public void refused(String reason) {
        refusals.labelValues(reason).inc();
    }

    public void error(ErrorKind kind) {
        errors.labelValues(kind.label()).inc();
    }

    /** One request answered: how long from its head to its response's end. */
    public void requestDurationNanos(long nanos) {
        requestDuration.observe(nanos / 1e9);
    }

    public void upstreamLatencyNanos(long nanos) {
        upstreamLatency.observe(nanos / 1e9);
    }

    /** A gauge read when scraped, in seconds (a timestamp or an age), as Prometheus names them. */
    public void gaugeSeconds(String name, String help, java.util.function.DoubleSupplier seconds) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(seconds.getAsDouble())).register(registry);
    }

    /** A gauge read when scraped. */
    public void gauge(String name, String help, LongSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsLong())).register(registry);
    }

    /** A counter read when scraped, for counts kept elsewhere. */
    public void counter(String name, String help, LongSupplier value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsLong())).register(registry);
    }

    public String contentType() {
        return writer.getContentType();
    }

    /** The text exposition of every metric. */
    public byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
