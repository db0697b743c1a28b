package dev.longbow.samples.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The loss curve as a PNG. Its own class so that XChart is loaded only when a chart is drawn:
 * a runtime without it (the GPU bundle's) never touches this class ({@link Charts}).
 */
final class LossPlot {
    private LossPlot() {
    }

    /** The training loss per step, and the held-out loss where it was evaluated (none: no legend). */
    static void save(String title, List<Double> steps, List<Double> losses, List<Double> evalSteps, List<Double> evalLosses,
                     Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(540).title(title).xAxisTitle("step").yAxisTitle("loss (nats)").build();
        chart.getStyler().setLegendVisible(!evalLosses.isEmpty()).setMarkerSize(6);
        chart.addSeries("training loss", steps, losses).setMarker(SeriesMarkers.NONE);
        if (!evalLosses.isEmpty()) {
            chart.addSeries("held-out loss", evalSteps, evalLosses).setMarker(SeriesMarkers.CIRCLE);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
