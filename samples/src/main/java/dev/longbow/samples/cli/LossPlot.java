package dev.longbow.samples.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

/**
 * The loss curve as a PNG. Its own class so that XChart is loaded only when a chart is drawn:
 * a runtime without it (the GPU bundle's) never touches this class ({@link Charts}).
 */
final class LossPlot {
    private LossPlot() {
    }

    static void save(String title, List<Double> steps, List<Double> losses, Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(540).title(title).xAxisTitle("step").yAxisTitle("loss (nats)").build();
        chart.getStyler().setLegendVisible(false).setMarkerSize(0);
        chart.addSeries("loss", steps, losses);
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
