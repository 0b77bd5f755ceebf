package dev.tollgate.gateway.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tollgate.cluster.ClusterSettings;
import dev.tollgate.gateway.entity.Cidr;
import dev.tollgate.meter.damages.Rounding;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads {@code tollgate.yaml} (SPEC §7) into a {@link GatewayConfig}. Unknown keys, bad values
 * and missing files are rejected with a {@link ConfigException} naming the file and the key.
 */
public final class ConfigLoader {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private ConfigLoader() {
    }

    public static GatewayConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file + ": no such file");
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot be read (" + e.getMessage() + ")");
        }
        Path base = file.toAbsolutePath().getParent();
        return fromYaml(text, base, file.toString());
    }

    /** Parses {@code yaml}; relative paths resolve against {@code base}; {@code name} names it in errors. */
    public static GatewayConfig fromYaml(String yaml, Path base, String name) {
        JsonNode tree = parseYaml(yaml, name);
        try {
            return read(ConfigNode.root(tree, name), base);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(name + ": " + ConfigNode.oneLine(String.valueOf(e.getMessage())).getMessage(), e);
        }
    }

    /**
     * A YAML parser's message on one line: its unindented lines (what it was parsing, what went
     * wrong), without the quoted source and caret lines (the line and column say where).
     */
    static String oneLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        StringBuilder b = new StringBuilder();
        for (String line : message.split("\\R")) {
            if (!line.isBlank() && !Character.isWhitespace(line.charAt(0))) {
                b.append(b.length() == 0 ? "" : "; ").append(line.strip());
            }
        }
        String s = b.length() > 0 ? b.toString() : message;
        return s.replaceAll("\\p{Cntrl}", " ");
    }

    /** The YAML tree of {@code text}, or a ConfigException with the line and column of the syntax error. */
    public static JsonNode parseYaml(String text, String name) {
        try {
            return YAML.readTree(text);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            String where = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw new ConfigException(name + ": not valid YAML" + where + " (" + oneLine(e.getOriginalMessage()) + ")", e);
        }
    }

    private static GatewayConfig read(ConfigNode root, Path base) {
        HostPort listen = HostPort.parse("listen", root.string("listen", "0.0.0.0:8080"));

        ConfigNode u = root.section("upstream");
        if (!u.has("url")) {
            throw new IllegalArgumentException("upstream.url: missing (expected: the post API's URL, e.g. http://127.0.0.1:8081)");
        }
        GatewayConfig.Upstream upstream = new GatewayConfig.Upstream(upstreamUrl("upstream.url", u.string("url", null)),
                u.duration("connectTimeout", Duration.ofSeconds(2)),
                u.duration("responseTimeout", Duration.ofSeconds(30)),
                u.duration("idleTimeout", Duration.ofSeconds(60)),
                u.integer("maxIdlePerLoop", 64, 0, 100_000));
        u.finish();

        ConfigNode a = root.section("admin");
        HostPort adminListen = HostPort.parse("admin.listen", a.string("listen", "127.0.0.1:9090"));
        String tokenFile = a.string("tokenFile", null);
        a.finish();
        GatewayConfig.Admin admin = new GatewayConfig.Admin(adminListen, tokenFile == null ? null : base.resolve(tokenFile).normalize());

        Path dataDir = base.resolve(root.string("dataDir", "../data")).normalize();

        ConfigNode m = root.section("meter");
        GatewayConfig.Meter meter = new GatewayConfig.Meter(
                m.integer("threshold", 1_000_000L),
                m.duration("window", Duration.ofHours(24)),
                m.duration("bucket", Duration.ofMinutes(1)),
                GatewayConfig.Mode.of(m.string("mode", "meter")),
                m.integer("maxEntities", 0L),
                m.decimal("evictionProtectShare", java.math.BigDecimal.valueOf(dev.tollgate.meter.MeterConfig.DEFAULT_PROTECT_SHARE)).doubleValue());
        m.finish();
        meter.meterConfig(); // validates threshold, window, bucket, maxEntities and evictionProtectShare

        ConfigNode c = root.section("counting");
        GatewayConfig.Counting counting = new GatewayConfig.Counting(c.string("postCountHeader", "X-Post-Count"), c.bool("json", true),
                c.bool("enabled", true), GatewayConfig.Ranges.of(c.string("ranges", "strip")),
                c.integer("maxDecodedBytes", GatewayConfig.Counting.DEFAULT_MAX_DECODED_BYTES));
        c.finish();

        ConfigNode e = root.section("entities");
        List<String> apiKeyHeaders = e.strings("apiKeyHeaders", List.of("Authorization", "X-Api-Key"));
        String accountHeader = e.string("accountHeader", "X-Account-Id");
        List<Cidr> trusted = new ArrayList<>();
        for (String t : e.strings("trustedProxies", List.of("127.0.0.1/32"))) {
            trusted.add(Cidr.parse(e.key("trustedProxies"), t));
        }
        int v4 = e.integer("ipv4Prefix", 24, 1, 32);
        int v6 = e.integer("ipv6Prefix", 48, 1, 128);
        boolean named = e.has("directory");
        Path directory = base.resolve(e.string("directory", "entities.yaml")).normalize();
        if (named && !Files.isRegularFile(directory)) {
            throw new IllegalArgumentException("entities.directory: '" + directory + "' (expected: an existing file)");
        }
        if (!named && !Files.isRegularFile(directory)) {
            directory = null;
        }
        String secret = e.string("keyHashSecretFile", null);
        e.finish();
        GatewayConfig.Entities entities = new GatewayConfig.Entities(apiKeyHeaders, accountHeader, trusted, v4, v6, directory,
                secret == null ? null : base.resolve(secret).normalize());

        ConfigNode d = root.section("damages");
        GatewayConfig.Damages damages = new GatewayConfig.Damages(
                d.string("currency", "USD"),
                d.decimal("price", BigDecimal.valueOf(15_000)),
                d.integer("unit", 1_000_000L),
                Rounding.fromConfigName(d.string("rounding", "prorated")));
        d.finish();
        damages.terms(); // validates currency, price and unit

        ConfigNode l = root.section("limits");
        GatewayConfig.Limits limits = new GatewayConfig.Limits(
                l.integer("maxInitialLineLength", 8192, 64, 1 << 20),
                l.integer("maxHeaderSize", 16384, 256, 1 << 20),
                l.integer("maxHeaderCount", 100, 1, 10_000),
                l.integer("maxChunkSize", 65536, 256, 1 << 24),
                l.duration("clientIdleTimeout", Duration.ofSeconds(60)),
                l.duration("requestHeadTimeout", Duration.ofSeconds(10)),
                l.duration("requestBodyTimeout", Duration.ofSeconds(60)),
                (int) l.integer("maxConnections", 0, 0, 10_000_000),
                (int) l.integer("maxConnectionsPerClient", 1024, 1, 10_000_000),
                (int) l.integer("maxPendingBytes", 65536, 4096, 1 << 24));
        l.finish();

        ConfigNode sd = root.section("shutdown");
        GatewayConfig.Shutdown shutdown = new GatewayConfig.Shutdown(sd.duration("gracePeriod", Duration.ofSeconds(30)));
        sd.finish();

        ConfigNode al = root.section("accessLog");
        boolean accessLogOn = al.bool("enabled", true);
        String accessLogPath = al.string("path", null);
        al.finish();
        boolean stdout = "-".equals(accessLogPath) || "stdout".equals(accessLogPath);
        GatewayConfig.AccessLog accessLog = new GatewayConfig.AccessLog(accessLogOn,
                accessLogPath == null || stdout ? null : base.resolve(accessLogPath).normalize(), stdout);

        ConfigNode k = root.section("cluster");
        ClusterSettings cluster = root.has("cluster") ? cluster(k, base) : null;

        root.finish();
        return new GatewayConfig(listen, upstream, admin, dataDir, meter, counting, entities, damages, limits, shutdown, accessLog, cluster,
                base.normalize());
    }

    /** The {@code cluster:} section (SPEC §9): redis and postgres are both required, the password files must exist. */
    private static ClusterSettings cluster(ConfigNode c, Path base) {
        String nodeId = c.string("nodeId", defaultNodeId());
        if (!c.has("redis")) {
            throw new IllegalArgumentException("cluster.redis: missing (expected: the Redis nodes holding the global windows, "
                    + "e.g. nodes: [redis://127.0.0.1:7001])");
        }
        ConfigNode r = c.section("redis");
        if (!r.has("nodes")) {
            throw new IllegalArgumentException("cluster.redis.nodes: missing (expected: a list of redis://host:port)");
        }
        List<URI> nodes = new ArrayList<>();
        for (String n : r.strings("nodes", List.of())) {
            nodes.add(ClusterSettings.Redis.node(n));
        }
        String redisPassword = r.string("passwordFile", null);
        Duration flush = r.duration("flushInterval", Duration.ofSeconds(1));
        Duration coldDefault = flush.compareTo(Duration.ofSeconds(30)) > 0 ? flush : Duration.ofSeconds(30); // never below the flush
        ClusterSettings.Redis redis = new ClusterSettings.Redis(nodes, flush,
                r.duration("nearThresholdFlushInterval", Duration.ofMillis(250)),
                r.duration("coldFlushInterval", coldDefault),
                r.duration("commandTimeout", Duration.ofSeconds(2)),
                redisPassword == null ? null : base.resolve(redisPassword).normalize());
        r.finish();
        if (!c.has("postgres")) {
            throw new IllegalArgumentException("cluster.postgres: missing (expected: url, user and passwordFile of the cluster ledger's "
                    + "database)");
        }
        ConfigNode pg = c.section("postgres");
        String pgPassword = pg.string("passwordFile", null);
        ClusterSettings.Postgres postgres = new ClusterSettings.Postgres(pg.string("url", null), pg.string("user", null),
                pgPassword == null ? null : base.resolve(pgPassword).normalize());
        pg.finish();
        c.finish();
        ClusterSettings settings = new ClusterSettings(nodeId, redis, postgres);
        if (redis.passwordFile() != null) {
            redis.password(); // a missing or empty file is a configuration error, named now
        }
        postgres.password();
        return settings;
    }

    /** The host name, as SPEC §9's default node id; "gateway" if it cannot be told. */
    static String defaultNodeId() {
        try {
            String host = java.net.InetAddress.getLocalHost().getHostName();
            String id = host.replaceAll("[^A-Za-z0-9._-]", "-");
            return id.isEmpty() ? "gateway" : id.substring(0, Math.min(id.length(), ClusterSettings.MAX_NODE_ID_LENGTH));
        } catch (java.net.UnknownHostException e) {
            return "gateway";
        }
    }

    static URI upstreamUrl(String key, String text) {
        URI uri;
        try {
            uri = new URI(text.trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(key + ": '" + text + "' (expected: a URL such as http://127.0.0.1:8081)");
        }
        if (!"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException(key + ": '" + text + "' (expected: an http:// URL with a host, such as http://127.0.0.1:8081;"
                    + " TLS to the upstream is not supported, terminate it on the upstream's side)");
        }
        if (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/")) {
            throw new IllegalArgumentException(key + ": '" + text + "' (expected: scheme, host and port only; paths are forwarded as requested)");
        }
        return uri;
    }

    static void positive(String key, Duration d) {
        if (d == null || d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException(key + ": " + (d == null ? "missing" : Durations.format(d)) + " (expected: a positive duration)");
        }
    }
}
