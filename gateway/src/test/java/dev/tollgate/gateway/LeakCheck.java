package dev.tollgate.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test when Netty's leak detector (paranoid level in tests, see the surefire
 * configuration) reports a buffer that was never released. After each test it collects garbage
 * and allocates — which is when the detector looks for leaked buffers — and fails on any report
 * that {@link LeakLogAppender} collected meanwhile.
 */
public final class LeakCheck implements BeforeEachCallback, AfterEachCallback {
    static {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        LeakLogAppender.LEAKS.clear();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        collect(3);
        if (!LeakLogAppender.LEAKS.isEmpty()) {
            String all = String.join("\n", LeakLogAppender.LEAKS);
            LeakLogAppender.LEAKS.clear();
            throw new AssertionError("Netty buffers leaked during " + context.getDisplayName() + ":\n" + all);
        }
    }

    /** Lets the detector find unreachable, unreleased buffers: garbage collection, then allocations. */
    static void collect(int rounds) {
        for (int i = 0; i < rounds && LeakLogAppender.LEAKS.isEmpty(); i++) {
            System.gc();
            System.runFinalization();
            for (int k = 0; k < 64; k++) {
                ByteBuf a = PooledByteBufAllocator.DEFAULT.buffer(16);
                ByteBuf b = UnpooledByteBufAllocator.DEFAULT.buffer(16);
                a.release();
                b.release();
            }
        }
    }
}
