package dev.tollgate.gateway.config;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.gateway.entity.Cidr;
import java.nio.file.Path;

/**
 * The effective settings as the ledger's {@code config} record holds them (SPEC §6, §7): a JSON
 * object with the YAML keys of {@code tollgate.yaml}, durations as the file writes them
 * ({@code "1m"}, {@code "24h"}), paths relative to the configuration file's folder (as they are
 * written there), every default filled in, and no secret (the admin token and the key-hash secret
 * are never part of the configuration, only the files they come from). Its version is the SHA-256
 * of its canonical text ({@link CanonicalJson}), so it changes only when a setting does.
 */
public record ConfigRecord(ObjectNode settings, String version) {

    public static ConfigRecord of(GatewayConfig c) {
        ObjectNode s = JsonNodeFactory.instance.objectNode();
        s.put("listen", c.listen().toString());
        ObjectNode u = s.putObject("upstream");
        u.put("url", c.upstream().url().toString());
        u.put("connectTimeout", Durations.format(c.upstream().connectTimeout()));
        u.put("responseTimeout", Durations.format(c.upstream().responseTimeout()));
        u.put("idleTimeout", Durations.format(c.upstream().idleTimeout()));
        u.put("maxIdlePerLoop", c.upstream().maxIdlePerLoop());
        ObjectNode a = s.putObject("admin");
        a.put("listen", c.admin().listen().toString());
        if (c.admin().tokenFile() != null) {
            a.put("tokenFile", relative(c.base(), c.admin().tokenFile()));
        }
        s.put("dataDir", relative(c.base(), c.dataDir()));
        ObjectNode m = s.putObject("meter");
        m.put("threshold", c.meter().threshold());
        m.put("window", Durations.format(c.meter().window()));
        m.put("bucket", Durations.format(c.meter().bucket()));
        m.put("mode", c.meter().mode().configName());
        m.put("maxEntities", c.meter().maxEntities());
        m.put("evictionProtectShare", java.math.BigDecimal.valueOf(c.meter().evictionProtectShare()).stripTrailingZeros());
        ObjectNode n = s.putObject("counting");
        n.put("postCountHeader", c.counting().postCountHeader());
        n.put("json", c.counting().json());
        n.put("enabled", c.counting().enabled());
        n.put("ranges", c.counting().ranges().configName());
        n.put("maxDecodedBytes", c.counting().maxDecodedBytes());
        ObjectNode e = s.putObject("entities");
        ArrayNode keys = e.putArray("apiKeyHeaders");
        c.entities().apiKeyHeaders().forEach(keys::add);
        e.put("accountHeader", c.entities().accountHeader());
        ArrayNode trusted = e.putArray("trustedProxies");
        for (Cidr t : c.entities().trustedProxies()) {
            trusted.add(t.toString());
        }
        e.put("ipv4Prefix", c.entities().ipv4Prefix());
        e.put("ipv6Prefix", c.entities().ipv6Prefix());
        if (c.entities().directory() != null) {
            e.put("directory", relative(c.base(), c.entities().directory()));
        }
        if (c.entities().keyHashSecretFile() != null) {
            e.put("keyHashSecretFile", relative(c.base(), c.entities().keyHashSecretFile()));
        }
        ObjectNode d = s.putObject("damages");
        d.put("currency", c.damages().currency());
        java.math.BigDecimal price = c.damages().price().stripTrailingZeros(); // 15000.00 and 15000 are one setting
        d.put("price", price.scale() < 0 ? price.setScale(0) : price);
        d.put("unit", c.damages().unit());
        d.put("rounding", c.damages().rounding().configName());
        ObjectNode l = s.putObject("limits");
        l.put("maxInitialLineLength", c.limits().maxInitialLineLength());
        l.put("maxHeaderSize", c.limits().maxHeaderSize());
        l.put("maxHeaderCount", c.limits().maxHeaderCount());
        l.put("maxChunkSize", c.limits().maxChunkSize());
        l.put("clientIdleTimeout", Durations.format(c.limits().clientIdleTimeout()));
        l.put("requestHeadTimeout", Durations.format(c.limits().requestHeadTimeout()));
        l.put("requestBodyTimeout", Durations.format(c.limits().requestBodyTimeout()));
        l.put("maxConnections", c.limits().maxConnections());
        l.put("maxConnectionsPerClient", c.limits().maxConnectionsPerClient());
        l.put("maxPendingBytes", c.limits().maxPendingBytes());
        s.putObject("shutdown").put("gracePeriod", Durations.format(c.shutdown().gracePeriod()));
        ObjectNode al = s.putObject("accessLog");
        al.put("enabled", c.accessLog().enabled());
        if (c.accessLog().stdout()) {
            al.put("path", "-");
        } else if (c.accessLog().file() != null) {
            al.put("path", relative(c.base(), c.accessLog().file()));
        }
        if (c.cluster() != null) {
            ObjectNode k = s.putObject("cluster");
            k.put("nodeId", c.cluster().nodeId());
            ObjectNode r = k.putObject("redis");
            ArrayNode nodes = r.putArray("nodes");
            c.cluster().redis().nodes().forEach(node -> nodes.add(node.toString()));
            r.put("flushInterval", Durations.format(c.cluster().redis().flushInterval()));
            r.put("nearThresholdFlushInterval", Durations.format(c.cluster().redis().nearThresholdFlushInterval()));
            r.put("coldFlushInterval", Durations.format(c.cluster().redis().coldFlushInterval()));
            r.put("commandTimeout", Durations.format(c.cluster().redis().commandTimeout()));
            if (c.cluster().redis().passwordFile() != null) {
                r.put("passwordFile", relative(c.base(), c.cluster().redis().passwordFile()));
            }
            ObjectNode pg = k.putObject("postgres");
            pg.put("url", c.cluster().postgres().url());
            pg.put("user", c.cluster().postgres().user());
            if (c.cluster().postgres().passwordFile() != null) {
                pg.put("passwordFile", relative(c.base(), c.cluster().postgres().passwordFile()));
            }
        }
        ObjectNode sorted = (ObjectNode) CanonicalJson.sorted(s);
        return new ConfigRecord(sorted, CanonicalJson.sha256(sorted));
    }

    /** {@code path} relative to {@code base} with '/' separators, as a configuration file would write it; absolute if it cannot be. */
    static String relative(Path base, Path path) {
        if (base == null) {
            return path.toString();
        }
        try {
            Path b = base.toAbsolutePath().normalize();
            Path p = path.toAbsolutePath().normalize();
            if (b.getRoot() == null || !b.getRoot().equals(p.getRoot())) {
                return p.toString();
            }
            String r = b.relativize(p).toString().replace(java.io.File.separatorChar, '/');
            return r.isEmpty() ? "." : r;
        } catch (IllegalArgumentException e) {
            return path.toString();
        }
    }
}
