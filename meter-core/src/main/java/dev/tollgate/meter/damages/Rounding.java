package dev.tollgate.meter.damages;

import java.util.Locale;

/** How the amount of a damage period is rounded (SPEC §5). */
public enum Rounding {
    /** posts × price ÷ unit, rounded half-up to the currency's minor unit. */
    PRORATED("prorated"),
    /** every started unit is charged in full (ceiling). */
    PER_STARTED_UNIT("per-started-unit"),
    /** only whole units are charged (floor). */
    PER_WHOLE_UNIT("per-whole-unit");

    private final String configName;

    Rounding(String configName) {
        this.configName = configName;
    }

    /** The name used in configuration files and reports. */
    public String configName() {
        return configName;
    }

    /** Parses a configuration name, e.g. {@code per-started-unit}. */
    public static Rounding fromConfigName(String name) {
        String wanted = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (Rounding r : values()) {
            if (r.configName.equals(wanted)) {
                return r;
            }
        }
        throw new IllegalArgumentException(
                "damages.rounding: " + name + " (expected: prorated, per-started-unit or per-whole-unit)");
    }
}
