package dev.tollgate.gateway.entity;

/** A named party of the directory: damages are claimed from it. */
public record LegalEntity(String id, String name, String contact) {
}
