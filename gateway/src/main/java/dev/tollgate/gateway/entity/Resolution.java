package dev.tollgate.gateway.entity;

/**
 * Who a request is charged to: the {@code entity} id (a directory id, or the identifier itself),
 * the {@code identifier} that decided it ({@code key:…}, {@code account:…}, {@code net:…}), and the
 * client's network ({@code net:…}), kept as evidence of where the requests came from.
 */
public record Resolution(String entity, String identifier, String network, boolean inDirectory) {
}
