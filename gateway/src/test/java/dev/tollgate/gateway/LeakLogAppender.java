package dev.tollgate.gateway;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Collects the leak reports Netty's {@code ResourceLeakDetector} logs, whenever its detectors
 * were created (configured in {@code logback-test.xml}); {@link LeakCheck} fails tests on them.
 */
public final class LeakLogAppender extends AppenderBase<ILoggingEvent> {
    static final List<String> LEAKS = new CopyOnWriteArrayList<>();

    @Override
    protected void append(ILoggingEvent event) {
        if (event.getFormattedMessage().contains("LEAK")) {
            LEAKS.add(event.getFormattedMessage());
        }
    }
}
