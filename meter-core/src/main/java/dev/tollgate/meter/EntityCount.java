package dev.tollgate.meter;

/** An entity and its sliding 24h counts, as the admin API lists them. */
public record EntityCount(String id, long posts24h, long requests24h, boolean flagged) {
}
