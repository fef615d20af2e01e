package org.mtl4j.core;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.ArrayList;
import java.util.List;

/**
 * Hard parameter sharing (Caruana 1997): one copy of the trunk, shared by every task.
 *
 * <p>Each task's representation is the trunk's last layer, or the last layer of the stage the task names with
 * {@link Task#withStage(int)}. The default strategy.
 *
 * <p>Its encoder vertices are named {@code trunk_<stage>_<layer>}.
 */
public final class HardSharing implements SharingStrategy {

    @Override
    public List<String> addEncoder(GraphBuilder graph, String input, SharedTrunk trunk, List<Task> tasks) {
        String previous = input;
        List<List<Layer>> stages = trunk.stages();
        List<String> stageOutputs = new ArrayList<>();
        for (int s = 0; s < stages.size(); s++) {
            List<Layer> stage = stages.get(s);
            for (int l = 0; l < stage.size(); l++) {
                String name = "trunk_" + s + "_" + l;
                graph.addLayer(name, stage.get(l).clone(), previous);
                previous = name;
            }
            stageOutputs.add(previous);
        }
        List<String> representations = new ArrayList<>();
        for (Task task : tasks) {
            representations.add(stageOutputs.get(task.stageIn(stages.size())));
        }
        return representations;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HardSharing;
    }

    @Override
    public int hashCode() {
        return HardSharing.class.hashCode();
    }

    @Override
    public String toString() {
        return "HardSharing";
    }
}
