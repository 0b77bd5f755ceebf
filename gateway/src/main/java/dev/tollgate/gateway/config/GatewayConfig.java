package dev.tollgate.gateway.config;

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
 * {@code upstream.url}; paths are already resolved against the configuration file's folder.
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
        Limits limits) {

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

    /** How posts are counted; {@code enabled: false} meters nothing (plain pass-through, for benchmarks: P3). */
    public record Counting(String postCountHeader, boolean json, boolean enabled) {
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
            Duration clientIdleTimeout) {
        public Limits {
            atLeast("limits.maxInitialLineLength", maxInitialLineLength, 64);
            atLeast("limits.maxHeaderSize", maxHeaderSize, 256);
            atLeast("limits.maxHeaderCount", maxHeaderCount, 1);
            atLeast("limits.maxChunkSize", maxChunkSize, 256);
            ConfigLoader.positive("limits.clientIdleTimeout", clientIdleTimeout);
        }

        private static void atLeast(String key, int value, int min) {
            if (value < min) {
                throw new IllegalArgumentException(key + ": " + value + " (expected: >= " + min + ")");
            }
        }
    }

    /** A configuration with every default and the given upstream; data in {@code dataDir}. */
    public static GatewayConfig defaults(String upstreamUrl, Path dataDir) {
        return ConfigLoader.fromYaml("upstream:\n  url: " + upstreamUrl + "\ndataDir: '" + dataDir.toAbsolutePath() + "'\n",
                Path.of("").toAbsolutePath(), "(built-in defaults)");
    }

    public GatewayConfig withListen(HostPort l) {
        return new GatewayConfig(l, upstream, admin, dataDir, meter, counting, entities, damages, limits);
    }

    public GatewayConfig withUpstream(Upstream u) {
        return new GatewayConfig(listen, u, admin, dataDir, meter, counting, entities, damages, limits);
    }

    public GatewayConfig withAdmin(Admin a) {
        return new GatewayConfig(listen, upstream, a, dataDir, meter, counting, entities, damages, limits);
    }

    public GatewayConfig withDataDir(Path d) {
        return new GatewayConfig(listen, upstream, admin, d, meter, counting, entities, damages, limits);
    }

    public GatewayConfig withMeter(Meter m) {
        return new GatewayConfig(listen, upstream, admin, dataDir, m, counting, entities, damages, limits);
    }

    public GatewayConfig withEntities(Entities e) {
        return new GatewayConfig(listen, upstream, admin, dataDir, meter, counting, e, damages, limits);
    }
}
