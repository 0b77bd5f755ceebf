package dev.tollgate.meter.damages;

import java.math.BigDecimal;
import java.util.Currency;
import java.util.Objects;

/** An exact amount of money in one currency; never a floating-point number. */
public record Money(BigDecimal amount, Currency currency) {

    public Money {
        Objects.requireNonNull(amount, "amount");
        Objects.requireNonNull(currency, "currency");
        int digits = Math.max(currency.getDefaultFractionDigits(), 0);
        if (amount.scale() != digits) {
            amount = amount.setScale(digits, java.math.RoundingMode.UNNECESSARY);
        }
    }

    public static Money zero(Currency currency) {
        return new Money(BigDecimal.ZERO, currency);
    }

    public Money plus(Money other) {
        if (!currency.equals(other.currency)) {
            throw new IllegalArgumentException("currency mismatch: " + currency + " and " + other.currency);
        }
        return new Money(amount.add(other.amount), currency);
    }

    /** The amount as reports print it: plain digits, a dot, the minor unit ("18518.51"). */
    public String plain() {
        return amount.toPlainString();
    }

    @Override
    public String toString() {
        return plain() + " " + currency.getCurrencyCode();
    }
}
