package dev.tollgate.gateway.entity;

import dev.tollgate.gateway.config.GatewayConfig;
import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Resolves the entity of a request (SPEC §4), first match wins: an API key, the account header
 * (only from a trusted proxy), the client address's network in the directory, else the
 * identifier itself. Stateless apart from the directory it reads; safe from any thread.
 */
public final class EntityResolver {
    private final List<String> apiKeyHeaders;
    private final String accountHeader;
    private final List<Cidr> trustedProxies;
    private final int ipv4Prefix;
    private final int ipv6Prefix;
    private final Supplier<Directory> directory;
    private final KeyHasher hasher;
    /** Client address → its network's name; a memo only, so a size bound loses nothing. */
    private final com.github.benmanes.caffeine.cache.Cache<InetAddress, String> networks =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(100_000).build();

    public EntityResolver(GatewayConfig.Entities config, Supplier<Directory> directory, KeyHasher hasher) {
        this.apiKeyHeaders = config.apiKeyHeaders();
        this.accountHeader = config.accountHeader();
        this.trustedProxies = config.trustedProxies();
        this.ipv4Prefix = config.ipv4Prefix();
        this.ipv6Prefix = config.ipv6Prefix();
        this.directory = directory;
        this.hasher = hasher;
    }

    /**
     * @param header all values of a request header, by name (joined with commas), or null
     * @param peer   the TCP peer's address
     */
    public Resolution resolve(Function<String, String> header, InetAddress peer) {
        Directory dir = directory.get();
        boolean fromProxy = trusted(peer);
        InetAddress client = fromProxy ? ForwardedFor.client(header, peer, this::trusted) : peer;
        String network = networks.get(client, a -> "net:" + Cidr.of(a, a.getAddress().length == 4 ? ipv4Prefix : ipv6Prefix));

        String key = apiKey(header);
        if (key != null) {
            String shown = hasher.show(key);
            LegalEntity e = dir.byApiKey(key);
            return e != null ? new Resolution(e.id(), shown, network, true) : new Resolution(shown, shown, network, false);
        }
        if (fromProxy && accountHeader != null) {
            String account = header.apply(accountHeader);
            if (account != null && !account.isBlank()) {
                account = account.trim();
                String shown = "account:" + account;
                LegalEntity e = dir.byAccount(account);
                return e != null ? new Resolution(e.id(), shown, network, true) : new Resolution(shown, shown, network, false);
            }
        }
        LegalEntity e = dir.byAddress(client);
        return e != null ? new Resolution(e.id(), network, network, true) : new Resolution(network, network, network, false);
    }

    private String apiKey(Function<String, String> header) {
        for (String name : apiKeyHeaders) {
            String v = header.apply(name);
            if (v == null) {
                continue;
            }
            v = v.trim();
            if (name.equalsIgnoreCase("Authorization")) {
                if (v.length() > 7 && v.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
                    v = v.substring(7).trim();
                } else {
                    continue; // another scheme (Basic, …) carries no API key
                }
            }
            if (!v.isEmpty()) {
                return v;
            }
        }
        return null;
    }

    boolean trusted(InetAddress a) {
        for (Cidr c : trustedProxies) {
            if (c.contains(a)) {
                return true;
            }
        }
        return false;
    }
}
