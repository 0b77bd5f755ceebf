package dev.tollgate.gateway.entity;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Identifiers the directory joined into an entity, apart from the networks merely seen with it (issue 13). */
class SeenIdentifiersTest {

    @Test
    void joined_areWhatTheDirectoryMatched_seenAlsoHoldsTheNetworksRequestsCameFrom() {
        SeenIdentifiers s = new SeenIdentifiers();
        s.note(new Resolution("acme", "key:abc:me-1", "net:127.0.0.0/24", true)); // by its key, from a network it does not own
        s.note(new Resolution("acme", "net:198.51.100.0/24", "net:198.51.100.0/24", true)); // by its network
        s.note(new Resolution("net:203.0.113.0/24", "net:203.0.113.0/24", "net:203.0.113.0/24", false)); // outside the directory

        assertThat(s.of("acme")).containsExactly("key:abc:me-1", "net:127.0.0.0/24", "net:198.51.100.0/24");
        assertThat(s.joined("acme")).containsExactly("key:abc:me-1", "net:198.51.100.0/24");
        assertThat(s.of("net:203.0.113.0/24")).containsExactly("net:203.0.113.0/24");
        assertThat(s.joined("net:203.0.113.0/24")).as("outside the directory nothing is joined").isEmpty();
    }
}
