package dev.tollgate.meter;

/**
 * Who decides that an entity crossed the threshold: the one choice between a single process and
 * a cluster of gateways (SPEC §9).
 */
public enum Crossings {
    /**
     * Single process: this meter's window is the whole truth, so the meter flags by
     * {@link FlagRule}, finalizes each period 24h after its flag and prices it by
     * {@link dev.tollgate.meter.damages.PeriodRule}.
     */
    HERE,
    /**
     * Cluster mode: this meter holds one gateway's share. It only counts, and a {@link ChangeFeed}
     * ships its counts to the global window, where crossings are decided (the cluster module).
     * It never flags by itself, so no incident is ever raised twice for one crossing.
     */
    ELSEWHERE
}
