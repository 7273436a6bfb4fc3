//! Charts drawn with plotters into SVG: the Gantt chart of a [`Timeline`], and small bar and
//! line charts for measured comparisons (tokio against asyncio, speed-up against threads).
//!
//! All drawing lives here; `timeline` only measures, so the two modules depend one way.
//!
//! Everything renders to an in-memory SVG string. SVG needs no fonts on the machine (the
//! browser draws the text) and stays sharp when a workshop projector zooms in; a bitmap
//! backend would need a font stack and make the committed notebooks larger.
//!
//! Each chart also has a plain-text form, so a terminal run still shows the result.

use crate::timeline::{format_ms, Timeline};
use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::error::Error;

/// Tableau 10: distinct, colour-blind friendly, calm on a projector.
const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];
const FONT: &str = "sans-serif";
/// Every figure has this width in pixels; the height follows from the content.
const WIDTH: u32 = 760;
/// Height of a line chart.
const LINE_CHART_HEIGHT: u32 = 370;
/// Height of one row of a row chart (a task of a Gantt chart, a bar of a bar chart).
const ROW_HEIGHT: u32 = 28;
/// What a row chart needs besides its rows and its caption: the x axis and the margins.
const ROW_CHART_FRAME: u32 = 76;
/// Half the thickness of a bar, in rows: bars fill 64% of their row.
const BAR_HALF_THICKNESS: f64 = 0.32;
/// Radius of a point event's dot, in pixels.
const DOT_RADIUS: i32 = 5;
/// Text sizes as plotters takes them. It writes `size / 1.24` as the SVG's font size (it
/// converts points to pixels), so these are 17.7 px and 14.5 px on screen. JupyterLab's body
/// text is 14 px and a figure is shown at its own width (760 px), so no text in a figure is
/// smaller than the text around it.
const CAPTION_SIZE: u32 = 22;
const LABEL_SIZE: u32 = 18;
const VALUE_SIZE: u32 = 18;
/// plotters' ratio between the size it is given and the SVG font size it writes.
const PLOTTERS_POINTS_PER_PIXEL: f64 = 1.24;
/// The average width of a character of the browser's sans-serif, in ems. plotters measures
/// text without fonts, so the layout estimates widths itself, on the generous side.
const EM_PER_CHAR: f64 = 0.56;
/// Space kept free on each side of the caption.
const CAPTION_MARGIN: u32 = 16;
/// Left and right margins of the plotting area.
const MARGIN_LEFT: u32 = 10;
const MARGIN_RIGHT: u32 = 28;
const MESH_GREY: RGBColor = RGBColor(235, 235, 235);

/// The drawing functions' result: plotters reports errors, but drawing into a `String` has
/// none to report, so [`render_svg`] is the one place that turns an error into a panic.
type Drawn = Result<(), Box<dyn Error>>;

fn colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Renders one figure of `size` pixels into an SVG string: `draw` paints on a white canvas.
fn render_svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Drawn,
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let drawn = (|| -> Drawn {
            root.fill(&WHITE)?;
            draw(&root)?;
            root.present()?;
            Ok(())
        })();
        drawn.expect("drawing into an in-memory SVG cannot fail");
    }
    svg
}

/// Roughly how many pixels `text` takes on screen at plotters' `size`.
fn text_width(text: &str, size: u32) -> f64 {
    text.chars().count() as f64 * pixels(size) * EM_PER_CHAR
}

/// The on-screen font size, in pixels, of plotters' `size`.
fn pixels(size: u32) -> f64 {
    f64::from(size) / PLOTTERS_POINTS_PER_PIXEL
}

/// `title` broken into lines that fit the figure's width at the caption size.
fn caption_lines(title: &str) -> Vec<String> {
    let room = f64::from(WIDTH - 2 * CAPTION_MARGIN);
    let mut lines: Vec<String> = Vec::new();
    for word in title.split_whitespace() {
        match lines.last_mut() {
            Some(line) if text_width(&format!("{line} {word}"), CAPTION_SIZE) <= room => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// The height the caption's lines take.
fn caption_height(lines: &[String]) -> u32 {
    lines.len() as u32 * CAPTION_LINE + 12
}

/// The distance between two caption lines, in pixels.
const CAPTION_LINE: u32 = 24;

/// Draws the caption, centred, at the top of `root`; returns the area below it.
fn draw_caption<'a>(
    root: &DrawingArea<SVGBackend<'a>, Shift>,
    lines: &[String],
) -> Result<DrawingArea<SVGBackend<'a>, Shift>, Box<dyn Error>> {
    let (top, rest) = root.split_vertically(caption_height(lines));
    let style =
        TextStyle::from((FONT, CAPTION_SIZE).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (index, line) in lines.iter().enumerate() {
        let y = 8 + index as i32 * CAPTION_LINE as i32;
        top.draw(&Text::new(
            line.clone(),
            (WIDTH as i32 / 2, y),
            style.clone(),
        ))?;
    }
    Ok(rest)
}

/// The width of the row names' column: the longest name, within bounds.
fn name_area(rows: &[&str]) -> u32 {
    let longest = rows
        .iter()
        .map(|row| text_width(row, LABEL_SIZE))
        .fold(0.0, f64::max);
    (longest as u32 + 16).clamp(48, 360)
}

/// The axis style every chart shares: light grid, readable labels, values with three digits.
fn survey_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_desc: &str,
    configure: impl FnOnce(&mut MeshStyle<'_, '_, RangedCoordf64, RangedCoordf64, DB>),
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&|x| format_value(*x))
        .x_desc(x_desc)
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, LABEL_SIZE))
        .light_line_style(MESH_GREY);
    configure(&mut mesh);
    mesh.draw()?;
    Ok(())
}

/// A horizontal bar on one row of a row chart.
struct RowBar {
    row: usize,
    from: f64,
    to: f64,
    label: Option<String>,
}

impl RowBar {
    fn is_dot(&self) -> bool {
        self.to <= self.from
    }
}

/// Rows of horizontal bars over a linear x axis: the shape of both the Gantt chart and the
/// bar chart. Row 0 is drawn at the top. Bars with `from == to` are drawn as dots.
///
/// The y axis is continuous, 0 at the bottom and one unit per row, and the row names are
/// placed by hand. plotters' segmented axis would label the rows itself, but it adds a
/// half-empty row at the top.
fn row_chart_svg(title: &str, x_desc: &str, x_max: f64, rows: &[&str], bars: &[RowBar]) -> String {
    let row_count = rows.len().max(1);
    let caption = caption_lines(title);
    let height = caption_height(&caption) + ROW_CHART_FRAME + ROW_HEIGHT * row_count as u32;
    render_svg((WIDTH, height), |root| {
        let below_caption = draw_caption(root, &caption)?;
        draw_row_chart(&below_caption, x_desc, x_max, rows, bars)
    })
}

fn draw_row_chart(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    x_desc: &str,
    x_max: f64,
    rows: &[&str],
    bars: &[RowBar],
) -> Drawn {
    let row_count = rows.len().max(1);
    // Row r spans y in [row_count - 1 - r, row_count - r]; this is its middle.
    let middle_of = |row: usize| (row_count - row) as f64 - 0.5;
    let bar_of = |bar: &RowBar| {
        let middle = middle_of(bar.row);
        [
            (bar.from, middle - BAR_HALF_THICKNESS),
            (bar.to, middle + BAR_HALF_THICKNESS),
        ]
    };

    let mut chart = ChartBuilder::on(root)
        .margin(MARGIN_LEFT)
        .margin_top(4)
        .margin_right(MARGIN_RIGHT)
        .x_label_area_size(44)
        .y_label_area_size(name_area(rows))
        .build_cartesian_2d(0.0..x_max.max(f64::EPSILON), 0.0..row_count as f64)?;
    survey_mesh(&mut chart, x_desc, |mesh| {
        mesh.disable_y_mesh().y_labels(0);
    })?;

    let name_style =
        TextStyle::from((FONT, LABEL_SIZE).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for (row, name) in rows.iter().enumerate() {
        // The chart speaks in the figure's pixels; `root` starts below the caption.
        let (x, y) = chart.backend_coord(&(0.0, middle_of(row)));
        let (left, top) = root.get_base_pixel();
        let at = (x - left - 8, y - top);
        root.draw(&Text::new(name.to_string(), at, name_style.clone()))?;
    }

    let intervals = bars.iter().filter(|bar| !bar.is_dot());
    chart.draw_series(
        intervals
            .clone()
            .map(|bar| Rectangle::new(bar_of(bar), colour(bar.row).filled())),
    )?;
    // A white outline keeps back-to-back spans on one row (a consumer's items) apart.
    chart.draw_series(intervals.map(|bar| Rectangle::new(bar_of(bar), WHITE.stroke_width(1))))?;
    let dots = bars.iter().filter(|bar| bar.is_dot());
    chart.draw_series(dots.map(|bar| {
        Circle::new(
            (bar.from, middle_of(bar.row)),
            DOT_RADIUS,
            colour(bar.row).filled(),
        )
    }))?;

    let label_style = TextStyle::from((FONT, VALUE_SIZE).into_font())
        .pos(Pos::new(HPos::Left, VPos::Center))
        .color(&RGBColor(60, 60, 60));
    let labels = bars.iter().filter_map(|bar| {
        let text = bar.label.as_ref()?;
        Some(Text::new(
            format!(" {text}"),
            (bar.to, middle_of(bar.row)),
            label_style.clone(),
        ))
    });
    chart.draw_series(labels)?;
    Ok(())
}

impl Timeline {
    /// The Gantt chart as an SVG document: one row per task, a bar per span, a dot per
    /// point event.
    pub fn to_svg(&self) -> String {
        let rows = self.rows();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let bars: Vec<RowBar> = self
            .spans()
            .iter()
            .map(|span| RowBar {
                row: rows
                    .iter()
                    .position(|r| *r == span.row)
                    .expect("row of a known span"),
                from: ms(span.start),
                to: ms(span.end),
                label: None,
            })
            .collect();
        let title = if self.title().is_empty() {
            self.summary()
        } else {
            format!("{} ({})", self.title(), compact_summary(self))
        };
        row_chart_svg(
            &title,
            "time since start (ms)",
            ms(self.end()) * 1.02,
            &rows,
            &bars,
        )
    }

    /// Shows the Gantt chart in Jupyter, with the text timeline as the plain-text fallback.
    /// evcxr calls this when a `Timeline` is the last expression of a cell.
    pub fn evcxr_display(&self) {
        crate::display::emit_figure(&self.to_svg(), &self.summary(), &self.to_text());
    }
}

fn compact_summary(timeline: &Timeline) -> String {
    if timeline.spans().iter().all(|span| span.is_point()) {
        // Only point events: "sum 0.0 ms, 0.00x" would say nothing.
        return timeline.summary();
    }
    format!(
        "wall {}, sum {}, {:.2}x",
        format_ms(timeline.wall()),
        format_ms(timeline.sum_of_spans()),
        timeline.concurrency()
    )
}

/// A horizontal bar chart of named measurements, e.g. "tokio: 41 ms, asyncio: 390 ms".
#[derive(Clone, Debug)]
pub struct BarChart {
    title: String,
    unit: String,
    bars: Vec<(String, f64)>,
}

impl BarChart {
    /// An empty chart; values are in `unit` (shown on the axis and after each value).
    pub fn new(title: impl Into<String>, unit: impl Into<String>) -> BarChart {
        BarChart {
            title: title.into(),
            unit: unit.into(),
            bars: Vec::new(),
        }
    }

    /// Adds one bar.
    pub fn bar(mut self, label: impl Into<String>, value: f64) -> BarChart {
        self.bars.push((label.into(), value));
        self
    }

    /// The bars, in the order they were added.
    pub fn bars(&self) -> &[(String, f64)] {
        &self.bars
    }

    /// The chart as an SVG document.
    pub fn to_svg(&self) -> String {
        let rows: Vec<&str> = self.bars.iter().map(|(label, _)| label.as_str()).collect();
        let bars: Vec<RowBar> = self
            .bars
            .iter()
            .enumerate()
            .map(|(row, (_, value))| RowBar {
                row,
                from: 0.0,
                to: *value,
                label: Some(format!("{} {}", format_value(*value), self.unit)),
            })
            .collect();
        row_chart_svg(
            &self.title,
            &self.unit,
            self.axis_end(&rows, &bars),
            &rows,
            &bars,
        )
    }

    /// Where the x axis ends: far enough right that every value label fits after its bar.
    fn axis_end(&self, rows: &[&str], bars: &[RowBar]) -> f64 {
        let plot_width = f64::from(WIDTH - MARGIN_LEFT - MARGIN_RIGHT - name_area(rows));
        let mut end: f64 = bars.iter().map(|bar| bar.to).fold(0.0, f64::max) * 1.05;
        for bar in bars {
            let label = text_width(
                &format!(" {}", bar.label.as_deref().unwrap_or("")),
                VALUE_SIZE,
            );
            // The bar takes value/end of the plot's width; the label must fit in the rest.
            let room = (plot_width - label - 4.0).max(plot_width * 0.2);
            end = end.max(bar.to * plot_width / room);
        }
        end
    }

    /// The chart as text: one proportional bar per line.
    pub fn to_text(&self) -> String {
        const WIDTH: f64 = 40.0;
        let max = self.bars.iter().map(|(_, v)| *v).fold(0.0, f64::max);
        let name_width = self
            .bars
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = format!("{}\n", self.title);
        for (label, value) in &self.bars {
            let length = if max > 0.0 {
                (value / max * WIDTH).round() as usize
            } else {
                0
            };
            out.push_str(&format!(
                "{label:<name_width$} {} {} {}\n",
                "█".repeat(length),
                format_value(*value),
                self.unit
            ));
        }
        out.truncate(out.trim_end().len());
        out
    }

    /// Shows the chart in Jupyter, with the text form as fallback.
    pub fn evcxr_display(&self) {
        crate::display::emit_figure(&self.to_svg(), &self.title, &self.to_text());
    }
}

/// A line chart of one or more series of (x, y) points, e.g. speed-up against thread count.
#[derive(Clone, Debug)]
pub struct LineChart {
    title: String,
    x_desc: String,
    y_desc: String,
    series: Vec<(String, Vec<(f64, f64)>)>,
}

impl LineChart {
    /// An empty chart with axis descriptions.
    pub fn new(
        title: impl Into<String>,
        x_desc: impl Into<String>,
        y_desc: impl Into<String>,
    ) -> LineChart {
        LineChart {
            title: title.into(),
            x_desc: x_desc.into(),
            y_desc: y_desc.into(),
            series: Vec::new(),
        }
    }

    /// Adds a named series of points.
    pub fn series(
        mut self,
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> LineChart {
        self.series
            .push((name.into(), points.into_iter().collect()));
        self
    }

    /// The chart as an SVG document.
    pub fn to_svg(&self) -> String {
        let caption = caption_lines(&self.title);
        let height = caption_height(&caption) + LINE_CHART_HEIGHT;
        render_svg((WIDTH, height), |root| {
            self.draw(&draw_caption(root, &caption)?)
        })
    }

    fn draw(&self, root: &DrawingArea<SVGBackend<'_>, Shift>) -> Drawn {
        let points = self.series.iter().flat_map(|(_, pts)| pts.iter());
        let (x_max, y_max) = points.fold((0.0f64, 0.0f64), |(x, y), (px, py)| {
            (x.max(*px), y.max(*py))
        });
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .margin_left(24)
            .margin_top(4)
            .margin_right(MARGIN_RIGHT)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..(x_max * 1.05).max(1.0), 0.0..(y_max * 1.15).max(1.0))?;
        survey_mesh(&mut chart, &self.x_desc, |mesh| {
            mesh.y_label_formatter(&|y| format_value(*y))
                .y_desc(&self.y_desc);
        })?;
        for (index, (name, points)) in self.series.iter().enumerate() {
            let style = colour(index).stroke_width(2);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), style))?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
            chart.draw_series(
                points
                    .iter()
                    .map(|p| Circle::new(*p, 3, colour(index).filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 200, 200))
            .label_font((FONT, LABEL_SIZE))
            .draw()?;
        Ok(())
    }

    /// The chart as text: a table of the points of each series.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n{} -> {}", self.title, self.x_desc, self.y_desc);
        for (name, points) in &self.series {
            let cells: Vec<String> = points
                .iter()
                .map(|(x, y)| format!("{}: {}", format_value(*x), format_value(*y)))
                .collect();
            out.push_str(&format!("\n{name}: {}", cells.join(", ")));
        }
        out
    }

    /// Shows the chart in Jupyter, with the text form as fallback.
    pub fn evcxr_display(&self) {
        crate::display::emit_figure(&self.to_svg(), &self.title, &self.to_text());
    }
}

/// Three significant digits is plenty for a chart label.
fn format_value(value: f64) -> String {
    if value.abs() >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Span;
    use std::time::Duration;

    fn timeline() -> Timeline {
        let span = Span::from_ms;
        Timeline::from_spans(vec![
            span("request 1", 0, 100),
            span("request 2", 5, 300),
            span("tick", 150, 150),
        ])
        .titled("three things")
    }

    #[test]
    fn gantt_is_an_svg_with_every_row_named_and_a_bar_per_span() {
        let svg = timeline().to_svg();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60.min(svg.len())]);
        for text in [
            "request 1",
            "request 2",
            "tick",
            "three things",
            "time since start",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        // One filled rect per interval (plus the background), one circle per point event.
        assert_eq!(svg.matches("<circle").count(), 1);
        let filled_bars = PALETTE[..2]
            .iter()
            .map(|c| {
                svg.matches(&format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2))
                    .count()
            })
            .sum::<usize>();
        assert_eq!(filled_bars, 2);
    }

    #[test]
    fn a_title_of_point_events_counts_them() {
        let ticks = Timeline::from_spans(vec![Span {
            row: "tick".into(),
            start: Duration::from_millis(5),
            end: Duration::from_millis(5),
        }])
        .titled("ticks");
        assert!(ticks.to_svg().contains("ticks (1 point event over 0.0 ms)"));
    }

    #[test]
    fn bar_chart_scales_bars_and_labels_values() {
        let chart = BarChart::new("spawn 100k tasks", "ms")
            .bar("tokio", 40.0)
            .bar("asyncio", 400.0);
        let text = chart.to_text();
        let tokio = text
            .lines()
            .find(|l| l.starts_with("tokio"))
            .expect("tokio line");
        let asyncio = text
            .lines()
            .find(|l| l.starts_with("asyncio"))
            .expect("asyncio line");
        assert_eq!(asyncio.matches('█').count(), 40);
        assert_eq!(tokio.matches('█').count(), 4);
        assert!(tokio.ends_with("40 ms"));
        let svg = chart.to_svg();
        assert!(svg.contains("400 ms") && svg.contains("asyncio"));
    }

    #[test]
    fn line_chart_names_every_series() {
        let chart = LineChart::new("speed-up", "threads", "x")
            .series("rayon", [(1.0, 1.0), (2.0, 1.9)])
            .series("ideal", [(1.0, 1.0), (2.0, 2.0)]);
        let svg = chart.to_svg();
        assert!(svg.contains("rayon") && svg.contains("ideal") && svg.contains("threads"));
        // Each series is drawn once as a line and once as its legend sample.
        let polylines: Vec<&str> = svg
            .split("<polyline")
            .skip(1)
            .map(|rest| rest.split('>').next().unwrap_or_default())
            .collect();
        for colour in &PALETTE[..2] {
            let stroke = format!(
                "stroke=\"#{:02X}{:02X}{:02X}\"",
                colour.0, colour.1, colour.2
            );
            assert_eq!(
                polylines.iter().filter(|tag| tag.contains(&stroke)).count(),
                2
            );
        }
        let text = chart.to_text();
        assert!(text.contains("rayon: 1: 1, 2: 1.90"));
    }

    /// Every `<text>` of an SVG: (x, anchor, font size, content).
    fn texts(svg: &str) -> Vec<(f64, String, f64, String)> {
        let attribute = |tag: &str, name: &str| {
            let start = tag.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
            tag[start..]
                .split('"')
                .next()
                .expect("closing quote")
                .to_owned()
        };
        svg.split("<text")
            .skip(1)
            .map(|rest| {
                let (tag, after) = rest.split_once('>').expect("tag end");
                let content = after
                    .split("</text>")
                    .next()
                    .expect("text end")
                    .trim()
                    .to_owned();
                let x = attribute(tag, "x").parse().expect("x");
                let size = attribute(tag, "font-size").parse().expect("font size");
                // A rotated label (the y axis's) runs up the figure: its width is its height.
                let anchor = match tag.contains("rotate(") {
                    true => "rotated".to_owned(),
                    false => attribute(tag, "text-anchor"),
                };
                (x, anchor, size, content)
            })
            .collect()
    }

    #[test]
    fn text_is_as_large_as_the_notebook_s_and_stays_inside_the_figure() {
        let long_title =
            "line protocol, same Rust load client: a title long enough to need two lines";
        let charts = [
            BarChart::new(long_title, "requests per second")
                .bar("Rust, 50 connections, pipeline 16", 1_570_000.0)
                .bar("Python, 50 connections, pipeline 16", 124_000.0)
                .to_svg(),
            timeline().titled(long_title).to_svg(),
            LineChart::new(long_title, "threads", "speed-up")
                .series("rayon", [(1.0, 1.0), (2.0, 1.9)])
                .to_svg(),
        ];
        for svg in charts {
            let texts = texts(&svg);
            let wrapped = texts.iter().any(|(.., content)| {
                long_title.starts_with(content.as_str()) && content.len() < long_title.len()
            });
            assert!(wrapped, "the title is wrapped onto more lines: {svg}");
            for (x, anchor, size, content) in texts {
                assert!(size >= 14.0, "{content:?} is {size} px");
                let width = content.chars().count() as f64 * size * EM_PER_CHAR;
                let (left, right) = match anchor.as_str() {
                    "rotated" => (x - size, x + size),
                    "start" => (x, x + width),
                    "end" => (x - width, x),
                    _ => (x - width / 2.0, x + width / 2.0),
                };
                assert!(
                    left >= 0.0 && right <= f64::from(WIDTH),
                    "{content:?}: {left}..{right}"
                );
            }
        }
    }

    #[test]
    fn values_keep_three_significant_digits() {
        assert_eq!(format_value(1234.5), "1234");
        assert_eq!(format_value(12.34), "12.3");
        assert_eq!(format_value(1.234), "1.23");
        assert_eq!(format_value(3.0), "3");
    }
}
