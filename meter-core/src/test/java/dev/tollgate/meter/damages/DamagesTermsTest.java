package dev.tollgate.meter.damages;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.Currency;
import org.junit.jupiter.api.Test;

class DamagesTermsTest {
    private static final Currency USD = Currency.getInstance("USD");

    private static DamagesTerms terms(Rounding r) {
        return new DamagesTerms(USD, new BigDecimal("15000"), 1_000_000, r);
    }

    @Test
    void prorated_roundsHalfUpToTheCent() {
        assertThat(terms(Rounding.PRORATED).assess(1_234_567).plain()).isEqualTo("18518.51"); // 18518.505
        assertThat(terms(Rounding.PRORATED).assess(1_000_001).plain()).isEqualTo("15000.02"); // 15000.015
        assertThat(terms(Rounding.PRORATED).assess(1).plain()).isEqualTo("0.02");           // 0.015
        assertThat(terms(Rounding.PRORATED).assess(0).plain()).isEqualTo("0.00");
    }

    @Test
    void perStartedUnit_chargesEveryStartedMillion() {
        assertThat(terms(Rounding.PER_STARTED_UNIT).assess(1_000_001).plain()).isEqualTo("30000.00");
        assertThat(terms(Rounding.PER_STARTED_UNIT).assess(2_000_000).plain()).isEqualTo("30000.00");
    }

    @Test
    void perWholeUnit_chargesOnlyWholeMillions() {
        assertThat(terms(Rounding.PER_WHOLE_UNIT).assess(1_999_999).plain()).isEqualTo("15000.00");
    }

    @Test
    void amount_isExactForLargeFigures() {
        // 9,876,543,210 posts × 15000 / 1e6 = 148148148.15 exactly; a double would print 1.4814814815E8
        assertThat(terms(Rounding.PRORATED).assess(9_876_543_210L).plain()).isEqualTo("148148148.15");
    }

    @Test
    void currency_withoutMinorUnit_roundsToWholeAmounts() {
        DamagesTerms yen = new DamagesTerms(Currency.getInstance("JPY"), new BigDecimal("2000000"), 1_000_000, Rounding.PRORATED);
        assertThat(yen.assess(1_234_567).plain()).isEqualTo("2469134");
    }

    @Test
    void badTerms_nameTheKey() {
        assertThatThrownBy(() -> new DamagesTerms(USD, BigDecimal.ZERO, 1_000_000, Rounding.PRORATED))
                .hasMessage("damages.price: 0 (expected: a positive decimal amount)");
        assertThatThrownBy(() -> new DamagesTerms(USD, BigDecimal.TEN, 0, Rounding.PRORATED))
                .hasMessage("damages.unit: 0 (expected: a positive number of posts)");
        assertThatThrownBy(() -> Rounding.fromConfigName("nearest"))
                .hasMessage("damages.rounding: nearest (expected: prorated, per-started-unit or per-whole-unit)");
        assertThatThrownBy(() -> DamagesTerms.currencyOf("XYZW"))
                .hasMessageStartingWith("damages.currency: XYZW");
    }
}
