package dev.tollgate.meter.damages;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Currency;
import java.util.Objects;

/**
 * The price clause: {@code price} per {@code unit} posts, in {@code currency}, rounded by
 * {@code rounding}. Immutable and validated at construction, with messages that name the key.
 */
public record DamagesTerms(Currency currency, BigDecimal price, long unit, Rounding rounding) {

    /** The clause as the platform's terms state it: USD 15,000 per 1,000,000 posts, prorated. */
    public static DamagesTerms standard() {
        return new DamagesTerms(Currency.getInstance("USD"), new BigDecimal("15000"), 1_000_000L, Rounding.PRORATED);
    }

    public DamagesTerms {
        Objects.requireNonNull(currency, "damages.currency");
        Objects.requireNonNull(rounding, "damages.rounding");
        if (price == null || price.signum() <= 0) {
            throw new IllegalArgumentException("damages.price: " + price + " (expected: a positive decimal amount)");
        }
        if (unit <= 0) {
            throw new IllegalArgumentException("damages.unit: " + unit + " (expected: a positive number of posts)");
        }
    }

    /** Parses an ISO 4217 code with a message that names the key. */
    public static Currency currencyOf(String code) {
        try {
            return Currency.getInstance(code.trim());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("damages.currency: " + code + " (expected: an ISO 4217 code such as USD or EUR)");
        }
    }

    /** The damages for one period of {@code posts} posts. */
    public Money assess(long posts) {
        if (posts < 0) {
            throw new IllegalArgumentException("posts: " + posts + " (expected: >= 0)");
        }
        int digits = Math.max(currency.getDefaultFractionDigits(), 0);
        BigDecimal units = BigDecimal.valueOf(posts);
        BigDecimal divisor = BigDecimal.valueOf(unit);
        BigDecimal amount = switch (rounding) {
            case PRORATED -> units.multiply(price).divide(divisor, digits, RoundingMode.HALF_UP);
            case PER_STARTED_UNIT -> units.divide(divisor, 0, RoundingMode.CEILING).multiply(price);
            case PER_WHOLE_UNIT -> units.divide(divisor, 0, RoundingMode.FLOOR).multiply(price);
        };
        return new Money(amount.setScale(digits, RoundingMode.HALF_UP), currency);
    }

    /** One line a report can print to explain the figure, e.g. "1234567 × 15000 ÷ 1000000, prorated". */
    public String explain(long posts) {
        return posts + " posts × " + price.toPlainString() + " " + currency.getCurrencyCode()
                + " ÷ " + unit + " posts, " + rounding.configName();
    }
}
