package dev.longbow.plan;

/**
 * One candidate: a scheme with its knobs. Unused knobs are 1 (or false).
 *
 * @param ulysses     Ulysses degree: ranks that trade heads for tokens in one all-to-all
 * @param ring        ring size: ranks K/V travels around (for WallFacer, the sub-ring length P/C^2)
 * @param team        WallFacer's team size C
 * @param teamOnNvlink WallFacer's arrangement: teams of adjacent ranks (their collectives on NVLink)
 *                    or sub-rings of adjacent ranks (the ring steps on NVLink)
 * @param chunks      FPDT's chunks per sequence
 * @param offload     activation checkpoints (and FPDT's K/V chunks) kept in host memory
 */
public record Setting(Scheme scheme, int ulysses, int ring, int team, boolean teamOnNvlink, int chunks, boolean offload) {

    public enum Scheme {
        ULYSSES, RING, HYBRID, WALLFACER, FPDT;

        public String label() {
            return name().toLowerCase();
        }
    }

    public static Setting ulysses(int p, boolean offload) {
        return new Setting(Scheme.ULYSSES, p, 1, 1, true, 1, offload);
    }

    public static Setting ring(int p, boolean offload) {
        return new Setting(Scheme.RING, 1, p, 1, true, 1, offload);
    }

    public static Setting hybrid(int ulysses, int ring, boolean offload) {
        return new Setting(Scheme.HYBRID, ulysses, ring, 1, true, 1, offload);
    }

    public static Setting wallFacer(int p, int team, boolean teamOnNvlink, boolean offload) {
        return new Setting(Scheme.WALLFACER, 1, p / (team * team), team, teamOnNvlink, 1, offload);
    }

    public static Setting fpdt(int p, int chunks, boolean offload) {
        return new Setting(Scheme.FPDT, p, 1, 1, true, chunks, offload);
    }

    /** The ranks the setting spans. */
    public int ranks() {
        return switch (scheme) {
            case ULYSSES, FPDT -> ulysses;
            case RING -> ring;
            case HYBRID -> ulysses * ring;
            case WALLFACER -> ring * team * team;
        };
    }

    /** The knobs, as a person would write them. */
    public String knobs() {
        String knobs = switch (scheme) {
            case ULYSSES -> "degree " + ulysses;
            case RING -> "size " + ring;
            case HYBRID -> "ulysses " + ulysses + " x ring " + ring;
            case WALLFACER -> "C=" + team + ", sub-ring " + ring + ", " + (teamOnNvlink ? "teams" : "sub-rings") + " on NVLink";
            case FPDT -> "degree " + ulysses + ", " + chunks + " chunks";
        };
        return knobs + (offload ? ", offload" : "");
    }
}
