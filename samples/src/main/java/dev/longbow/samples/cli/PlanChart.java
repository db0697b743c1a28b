package dev.longbow.samples.cli;

import dev.longbow.plan.Estimate;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/** The plan as a PNG: predicted step time per feasible setting, split into compute and exposed transfer waits. */
final class PlanChart {
    private static final int BARS = 20;

    private PlanChart() {
    }

    static void write(List<Estimate> ranked, String title, Path png) throws IOException {
        List<Estimate> shown = ranked.stream().filter(Estimate::feasible).limit(BARS).toList();
        if (shown.isEmpty()) {
            throw new IllegalArgumentException("no feasible setting to chart");
        }
        CategoryChart chart = new CategoryChartBuilder().width(1200).height(700).title(title)
                .xAxisTitle("setting").yAxisTitle("predicted step time (s)").build();
        chart.getStyler().setStacked(true);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setXAxisLabelRotation(60);
        List<String> names = shown.stream().map(e -> e.run().schemeSettings() + ", " + e.run().settings()).toList();
        chart.addSeries("compute and hidden transfers", names, shown.stream().map(e -> e.stepSeconds() - e.exposedSeconds()).toList());
        chart.addSeries("waiting on transfers", names, shown.stream().map(Estimate::exposedSeconds).toList());
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
