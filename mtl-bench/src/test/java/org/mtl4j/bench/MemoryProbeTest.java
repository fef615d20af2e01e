package org.mtl4j.bench;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;

class MemoryProbeTest {

    private static final List<MultiDataSet> BATCHES = List.of(new org.nd4j.linalg.dataset.MultiDataSet());

    @Test
    void footprintCountsTheWorkspacesTheSideLeavesOnItsThread() {
        WorkspaceConfiguration config = WorkspaceConfiguration.builder().initialSize(3L << 20)
                .policyAllocation(AllocationPolicy.STRICT).policyLearning(LearningPolicy.NONE).build();
        Consumer<MultiDataSet> side = batch -> {
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(config, "MTL4J_PROBE_TEST")) {
                Nd4j.create(DataType.FLOAT, 1024, 256);
            }
        };
        MemoryProbe.Footprint f = MemoryProbe.measure(() -> side, BATCHES, 1, 2);
        assertEquals(3L << 20, f.workspaces());
        assertEquals(3.0, f.workspacesMb());
    }

    @Test
    void aSideWithoutWorkspacesCountsNoneLeftByAnEarlierOne() {
        WorkspaceConfiguration config = WorkspaceConfiguration.builder().initialSize(1L << 20)
                .policyAllocation(AllocationPolicy.STRICT).policyLearning(LearningPolicy.NONE).build();
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(config, "MTL4J_PROBE_EARLIER")) {
            Nd4j.create(DataType.FLOAT, 16);
        }
        MemoryProbe.Footprint f = MemoryProbe.measure(() -> batch -> Nd4j.create(DataType.FLOAT, 16), BATCHES, 1, 2);
        assertEquals(0, f.workspaces());
    }
}
