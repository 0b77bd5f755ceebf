package dev.tollgate.meter;

/**
 * SPEC §5's flag rule, in one place. An entity is flagged when its sliding count, less the posts
 * still in the window that already belong to its last final damage period, is above the
 * threshold, and no incident of it is open. Posts are never billed twice: once a period is final
 * they count toward no other.
 *
 * <p>Two deciders apply it: {@link EntityMeter} on this process's window (single process), and in
 * cluster mode the Redis Function {@code tollgate_ship} on the global window
 * ({@code cluster/src/main/resources/dev/tollgate/cluster/redis/tollgate.lua}), which must stay
 * the same rule.
 */
public final class FlagRule {
    private FlagRule() {
    }

    /**
     * @param slidingPosts        the window's post count now
     * @param postsOfLastPeriod   posts of the entity's last final period still inside the window
     * @param threshold           posts allowed in one window
     * @return true if the unassigned count crosses the threshold
     */
    public static boolean crosses(long slidingPosts, long postsOfLastPeriod, long threshold) {
        return unassigned(slidingPosts, postsOfLastPeriod) > threshold;
    }

    /** The posts in the window that no final period has claimed: the figure a flag records. */
    public static long unassigned(long slidingPosts, long postsOfLastPeriod) {
        return slidingPosts - postsOfLastPeriod;
    }
}
