package org.mtl4j.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class CaseResultTest {

    private static final MemoryProbe.Footprint MTL =
            new MemoryProbe.Footprint(100L << 20, 110L << 20, 4L << 20, 0, 1L << 19, 42, 3L << 19, true);
    private static final MemoryProbe.Footprint BASE =
            new MemoryProbe.Footprint(100L << 20, 103L << 20, 3L << 20, 0, 0, 42, 0, true);

    @Test
    void resultAndMemoryLinesHaveTheReportedFormat() {
        CaseResult r = new CaseResult("x", 10, 8, 5, new double[]{3, 1, 2, 10}, new double[]{2, 2, 2},
                new double[]{1, 1, 1, 1}, new double[]{1, 1, 1}, 5, 0, MTL, BASE,
                BenchArgs.Memory.FORK, 1.5, 1.25, 0.125, 3);
        assertEquals(2.5, r.mtlMedian());
        assertEquals(2.0, r.baselineMedian());
        assertEquals("RESULT x mtl4j_ms=2.500 baseline_ms=2.000 ratio=1.250", r.resultLine());
        assertEquals("MEMORY x mtl4j_mb=10.5 baseline_mb=3.0", r.memoryLine());
        assertEquals("MEMORY-DETAIL x side=mtl4j peak_rss_growth_mb=10.0 live_rss_growth_mb=4.0 heap_live_mb=0.5"
                + " retained_after_drop_mb=0.0 base_rss_mb=100.0 javacpp_tracked_mb=0.000 workspaces_mb=1.50 peak=VmHWM"
                + " where=fork", r.detailLines().get(2));
        assertEquals("CHECK x params=10 baseline_params=8 first_step_loss mtl4j=1.500000 baseline=1.250000"
                + " mtl4j_penalty=0.125000 wall_s=3.0", r.detailLines().get(4));
    }

    @Test
    void footprintLineRoundTrips() {
        assertEquals(MTL, MemoryProbe.Footprint.parse("FOOTPRINT mtl4j " + MTL.toLine()));
        assertEquals(BASE, MemoryProbe.Footprint.parse(BASE.toLine()));
    }
}
