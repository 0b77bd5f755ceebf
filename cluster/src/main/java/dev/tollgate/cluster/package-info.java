/**
 * Cluster mode (SPEC §9): several gateways counted as one meter. Live windows go to Redis
 * (Cluster), records to PostgreSQL; the request path never waits on either.
 */
package dev.tollgate.cluster;
