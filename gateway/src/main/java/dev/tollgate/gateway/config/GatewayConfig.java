package dev.tollgate.gateway.config;

import dev.tollgate.cluster.ClusterSettings;
import dev.tollgate.gateway.entity.Cidr;
import dev.tollgate.meter.MeterConfig;
import dev.tollgate.meter.damages.DamagesTerms;
import dev.tollgate.meter.damages.Rounding;
import java.math.BigDecimal;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The whole configuration (SPEC §7), immutable. Every key has a default except
 * {@code upstream.url}; paths are already resolved against {@code base}, the configuration file's
 * folder (kept so that the ledger's config record can show them relative, as written: {@link ConfigRecord}).
 * {@code cluster} is null for a single gateway (the default), else the cluster link's settings (SPEC §9).
 */
public record GatewayConfig(
        HostPort listen,
        Upstream upstream,
        Admin admin,
        Path dataDir,
        Meter meter,
        Counting counting,
        Entities entities,
        Damages damages,
        Limits limits,
        Shutdown shutdown,
        AccessLog accessLog,
        ClusterSettings cluster,
        Path base) {

    public record Upstream(URI url, Duration connectTimeout, Duration responseTimeout, Duration idleTimeout, int maxIdlePerLoop) {

        public Upstream {
            ConfigLoader.positive("upstream.connectTimeout", connectTimeout);
            ConfigLoader.positive("upstream.responseTimeout", responseTimeout);
            ConfigLoader.positive("upstream.idleTimeout", idleTimeout);
            if (maxIdlePerLoop < 0) {
                throw new IllegalArgumentException("upstream.maxIdlePerLoop: " + maxIdlePerLoop + " (expected: >= 0)");
            }
        }

        public String host() {
            return url.getHost();
        }

        public int port() {
            return url.getPort() < 0 ? 80 : url.getPort();
        }

        /** The same timeouts in front of another URL; {@code key} names it in the error. */
        public Upstream withUrl(String key, String text) {
            return new Upstream(ConfigLoader.upstreamUrl(key, text), connectTimeout, responseTimeout, idleTimeout, maxIdlePerLoop);
        }
    }

    /** The admin API: its address and where its bearer token comes from (null: env or generated). */
    public record Admin(HostPort listen, Path tokenFile) {
    }

    public enum Mode {
        METER, WARN, BLOCK;

        public static Mode of(String name) {
            for (Mode m : values()) {
                if (m.configName().equals(name)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("meter.mode: '" + name + "' (expected: meter, warn or block)");
        }

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** {@code maxEntities}: the entity table's bound (0 = sized from the heap); {@code evictionProtectShare}: see {@link MeterConfig}. */
    public record Meter(long threshold, Duration window, Duration bucket, Mode mode, long maxEntities, double evictionProtectShare) {
        public Meter(long threshold, Duration window, Duration bucket, Mode mode) {
            this(threshold, window, bucket, mode, 0, MeterConfig.DEFAULT_PROTECT_SHARE);
        }

        public MeterConfig meterConfig() {
            return new MeterConfig(threshold, window, bucket, maxEntities, evictionProtectShare);
        }
    }

    /**
     * How posts are counted; {@code enabled: false} meters nothing (plain pass-through, for benchmarks: P3).
     * {@code ranges}: what happens to a request's {@code Range}/{@code If-Range}; {@code maxDecodedBytes}:
     * how much of one compressed body the counter decodes at most.
     */
    public record Counting(String postCountHeader, boolean json, boolean enabled, Ranges ranges, long maxDecodedBytes) {
        public static final long DEFAULT_MAX_DECODED_BYTES = 256L << 20;

        public Counting {
            if (maxDecodedBytes < 65536) {
                throw new IllegalArgumentException("counting.maxDecodedBytes: " + maxDecodedBytes + " (expected: at least 65536)");
            }
        }
    }

    /**
     * {@code strip} (default): {@code Range} and {@code If-Range} are removed from requests on their
     * way upstream, so every response is a whole document and counted whole. {@code pass}: forwarded;
     * a 206 is charged only the upstream's post-count header (else 0 and an error metric).
     */
    public enum Ranges {
        STRIP, PASS;

        public static Ranges of(String name) {
            for (Ranges r : values()) {
                if (r.configName().equals(name)) {
                    return r;
                }
            }
            throw new IllegalArgumentException("counting.ranges: '" + name + "' (expected: strip or pass)");
        }

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * How requests are joined to entities. {@code directory} is null when the file was not named
     * and the default {@code entities.yaml} does not exist: then the directory is empty.
     */
    public record Entities(List<String> apiKeyHeaders, String accountHeader, List<Cidr> trustedProxies,
            int ipv4Prefix, int ipv6Prefix, Path directory, Path keyHashSecretFile) {
        public Entities {
            apiKeyHeaders = List.copyOf(apiKeyHeaders);
            trustedProxies = List.copyOf(trustedProxies);
            if (ipv4Prefix < 1 || ipv4Prefix > 32) {
                throw new IllegalArgumentException("entities.ipv4Prefix: " + ipv4Prefix + " (expected: 1..32)");
            }
            if (ipv6Prefix < 1 || ipv6Prefix > 128) {
                throw new IllegalArgumentException("entities.ipv6Prefix: " + ipv6Prefix + " (expected: 1..128)");
            }
        }
    }

    public record Damages(String currency, BigDecimal price, long unit, Rounding rounding) {
        public DamagesTerms terms() {
            return new DamagesTerms(DamagesTerms.currencyOf(currency), price, unit, rounding);
        }
    }

    /** Request limits (our addition to SPEC §7, all with defaults): too long or too many is a 4xx. */
    public record Limits(int maxInitialLineLength, int maxHeaderSize, int maxHeaderCount, int maxChunkSize,
            Duration clientIdleTimeout, Duration requestHeadTimeout, Duration requestBodyTimeout, int maxConnections,
            int maxConnectionsPerClient, int maxPendingBytes) {
        public Limits {
            ConfigLoader.positive("limits.requestHeadTimeout", requestHeadTimeout);
            ConfigLoader.positive("limits.requestBodyTimeout", requestBodyTimeout);
            atLeast("limits.maxPendingBytes", maxPendingBytes, 4096);
            atLeast("limits.maxConnections", maxConnections, 0);
            atLeast("limits.maxConnectionsPerClient", maxConnectionsPerClient, 1);
            atLeast("limits.maxInitialLineLength", maxInitialLineLength, 64);
            atLeast("limits.maxHeaderSize", maxHeaderSize, 256);
            atLeast("limits.maxHeaderCount", maxHeaderCount, 1);
            atLeast("limits.maxChunkSize", maxChunkSize, 256);
            ConfigLoader.positive("limits.clientIdleTimeout", clientIdleTimeout);
        }

        /**
         * The cap on client connections: {@code maxConnections}, or when 0 (the default) what the
         * process's file limit allows with headroom: each proxied connection may hold two
         * descriptors (client and upstream), and 256 stay free for the admin API, the data
         * directory and the JVM.
         */
        public int effectiveMaxConnections(long fileLimit) {
            if (maxConnections > 0) {
                return maxConnections;
            }
            long room = fileLimit <= 0 ? 10_000 : (fileLimit - 256) / 2;
            return (int) Math.max(64, Math.min(Integer.MAX_VALUE, room));
        }

        private static void atLeast(String key, int value, int min) {
            if (value < min) {
                throw new IllegalArgumentException(key + ": " + value + " (expected: >= " + min + ")");
            }
        }
    }

    /** How a stop (SIGTERM) drains: in-flight requests get up to {@code gracePeriod} to finish. */
    public record Shutdown(Duration gracePeriod) {
        public Shutdown {
            ConfigLoader.positive("shutdown.gracePeriod", gracePeriod);
        }
    }

    /**
     * The access log: one JSON line per request. {@code file} null means {@code <dataDir>/access.log};
     * {@code stdout} writes to standard output instead (for containers).
     */
    public record AccessLog(boolean enabled, Path file, boolean stdout) {
        /** Where the lines go, for a gateway whose data directory is {@code dataDir}; null for standard output. */
        public Path fileIn(Path dataDir) {
            return stdout ? null : file != null ? file : dataDir.resolve("access.log");
        }
    }

    /** A configuration with every default and the given upstream; data in {@code dataDir}. */
    public static GatewayConfig defaults(String upstreamUrl, Path dataDir) {
        return ConfigLoader.fromYaml("upstream:\n  url: " + upstreamUrl + "\ndataDir: '" + dataDir.toAbsolutePath() + "'\n",
                Path.of("").toAbsolutePath(), "(built-in defaults)");
    }

    public GatewayConfig withListen(HostPort l) {
        return new GatewayConfig(l, upstream, admin, dataDir, meter, counting, entities, damages, limits, shutdown, accessLog, cluster, base);
    }

    public GatewayConfig withUpstream(Upstream u) {
        return new GatewayConfig(listen, u, admin, dataDir, meter, counting, entities, damages, limits, shutdown, accessLog, cluster, base);
    }

    public GatewayConfig withAdmin(Admin a) {
        return new GatewayConfig(listen, upstream, a, dataDir, meter, counting, entities, damages, limits, shutdown, accessLog, cluster, base);
    }

    public GatewayConfig withDataDir(Path d) {
        return new GatewayConfig(listen, upstream, admin, d, meter, counting, entities, damages, limits, shutdown, accessLog, cluster, base);
    }

    public GatewayConfig withMeter(Meter m) {
        return new GatewayConfig(listen, upstream, admin, dataDir, m, counting, entities, damages, limits, shutdown, accessLog, cluster, base);
    }

    /** True when this gateway is one of several counted as one meter (a {@code cluster:} section). */
    public boolean clustered() {
        return cluster != null;
    }

    public GatewayConfig withCluster(ClusterSettings c) {
        return new GatewayConfig(listen, upstream, admin, dataDir, meter, counting, entities, damages, limits, shutdown, accessLog, c, base);
    }

    public GatewayConfig withEntities(Entities e) {
        return new GatewayConfig(listen, upstream, admin, dataDir, meter, counting, e, damages, limits, shutdown, accessLog, cluster, base);
    }
}
