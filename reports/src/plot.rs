//! SVG charts drawn with plotters: line charts (with shaded phase bands), bar charts and
//! metric-vs-parameter charts with confidence intervals.
//!
//! Text is measured with the bundled DejaVu Sans (registered with plotters' ab_glyph backend),
//! so rendering needs no system font; the browser draws the `<text>` with its own sans-serif.

use crate::error::ReportError;
use crate::stats::MeanCi;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::ops::Range;
use std::sync::OnceLock;

/// DejaVu Sans (Bitstream Vera license, see `assets/DejaVuSans-LICENSE.txt`): text metrics only.
pub(crate) static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// Chart size in SVG pixels; pages scale it with CSS.
pub const CHART_SIZE: (u32, u32) = (640, 380);
// plotters draws text at size / 1.24 px (ab_glyph's em box), so these give ~18 px and ~13 px.
const TITLE_PX: u32 = 22;
const LABEL_PX: u32 = 16;

/// Tableau 10: distinguishable, colour-blind-friendlier than plotters' defaults.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of the `i`-th series.
pub fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Registers the bundled font once; false if it could not be parsed (charts then fail to draw).
fn ensure_font() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| register_font("sans-serif", FontStyle::Normal, FONT).is_ok())
}

fn plot_err(title: &str, e: impl std::fmt::Display) -> ReportError {
    ReportError::Plot {
        plot: title.to_string(),
        detail: e.to_string(),
    }
}

/// One line; points with a non-finite `y` break the line (a gap).
#[derive(Clone, Debug, Default)]
pub struct Line {
    /// Legend entry.
    pub name: String,
    /// `(x, y)` points in increasing `x`.
    pub points: Vec<(f64, f64)>,
}

impl Line {
    /// Whether the line has at least one drawable point.
    pub fn has_data(&self) -> bool {
        self.points.iter().any(|(x, y)| x.is_finite() && y.is_finite())
    }
}

/// A shaded period on the x axis (a fault, churn wave or attack).
#[derive(Clone, Debug)]
pub struct Band {
    /// `fault`, `churn`, `attack` or anything else (one colour and legend entry per kind).
    pub kind: String,
    /// Start, x units.
    pub start: f64,
    /// End, x units.
    pub end: f64,
}

/// A line chart.
#[derive(Clone, Debug, Default)]
pub struct LineChart {
    /// Caption.
    pub title: String,
    /// X axis description with unit.
    pub x_desc: String,
    /// Y axis description with unit.
    pub y_desc: String,
    /// The lines.
    pub lines: Vec<Line>,
    /// Shaded periods.
    pub bands: Vec<Band>,
    /// Fixed y range; otherwise 0 to the data maximum.
    pub y_range: Option<(f64, f64)>,
    /// Fixed x range; otherwise the data extent.
    pub x_range: Option<(f64, f64)>,
    /// Logarithmic x axis (data at x <= 0 is dropped).
    pub x_log: bool,
}

impl LineChart {
    /// Whether any line has a drawable point.
    pub fn has_data(&self) -> bool {
        self.lines.iter().any(Line::has_data)
    }
}

fn band_color(kind: &str) -> RGBColor {
    match kind {
        "fault" => RGBColor(214, 39, 40),
        "churn" => RGBColor(31, 119, 180),
        "attack" => RGBColor(255, 127, 14),
        _ => RGBColor(127, 127, 127),
    }
}

fn finite_points(lines: &[Line], x_log: bool) -> impl Iterator<Item = (f64, f64)> + '_ {
    lines
        .iter()
        .flat_map(|l| l.points.iter().copied())
        .filter(move |(x, y)| x.is_finite() && y.is_finite() && (!x_log || *x > 0.0))
}

/// `lo..hi` widened so it is never empty.
fn nonempty(lo: f64, hi: f64) -> Range<f64> {
    if hi > lo {
        lo..hi
    } else {
        lo..lo + 1.0
    }
}

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
enum Swatch {
    /// A short thick line (line series).
    Stroke,
    /// A filled box with this opacity (bars, shaded bands).
    Fill(f64),
}

/// One legend entry.
struct Entry {
    name: String,
    color: RGBColor,
    swatch: Swatch,
}

/// Legend grid under the chart: equal columns as wide as the longest label.
struct LegendLayout {
    col_px: u32,
    per_row: usize,
    height_px: u32,
}

const LEGEND_ROW_PX: u32 = 22;
const SWATCH_PX: i32 = 22;

fn legend_layout(entries: &[Entry]) -> LegendLayout {
    if entries.is_empty() {
        return LegendLayout {
            col_px: 1,
            per_row: 1,
            height_px: 0,
        };
    }
    let font = ("sans-serif", LABEL_PX).into_font();
    let widest = entries
        .iter()
        .map(|e| {
            font.box_size(&e.name)
                .map_or(e.name.chars().count() as u32 * 8, |(w, _)| w)
        })
        .max()
        .unwrap_or(0);
    let col_px = (widest + SWATCH_PX as u32 + 24).min(CHART_SIZE.0 - 40);
    let per_row = ((CHART_SIZE.0 - 40) / col_px).max(1) as usize;
    let rows = entries.len().div_ceil(per_row) as u32;
    LegendLayout {
        col_px,
        per_row,
        height_px: rows * LEGEND_ROW_PX + 10,
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw_legend(area: &Area<'_>, entries: &[Entry], layout: &LegendLayout) -> Result<(), String> {
    let style = ("sans-serif", LABEL_PX).into_font().color(&RGBColor(40, 40, 40));
    let rows = entries.len().div_ceil(layout.per_row);
    // Centre the grid horizontally.
    let used = layout.col_px as i32 * layout.per_row.min(entries.len()) as i32;
    let left = ((CHART_SIZE.0 as i32 - used) / 2).max(8);
    for (i, e) in entries.iter().enumerate() {
        let (row, col) = (i / layout.per_row, i % layout.per_row);
        debug_assert!(row < rows);
        let x = left + col as i32 * layout.col_px as i32;
        let y = 4 + row as i32 * LEGEND_ROW_PX as i32 + LEGEND_ROW_PX as i32 / 2;
        match e.swatch {
            Swatch::Stroke => area
                .draw(&PathElement::new(
                    vec![(x, y), (x + SWATCH_PX - 4, y)],
                    e.color.stroke_width(3),
                ))
                .map_err(|x| x.to_string())?,
            Swatch::Fill(alpha) => area
                .draw(&Rectangle::new(
                    [(x, y - 6), (x + SWATCH_PX - 4, y + 6)],
                    e.color.mix(alpha).filled(),
                ))
                .map_err(|x| x.to_string())?,
        }
        let text = Text::new(
            e.name.clone(),
            (x + SWATCH_PX + 2, y - (LABEL_PX as i32) / 2 - 1),
            style.clone(),
        );
        area.draw(&text).map_err(|x| x.to_string())?;
    }
    Ok(())
}

/// A tick label without needless decimals: `1000` not `1000.0`, `25k` for 25,000.
pub fn tick_label(v: &f64) -> String {
    fn trim(s: String) -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
    let a = v.abs();
    if a >= 1e9 {
        format!("{}G", trim(format!("{:.2}", v / 1e9)))
    } else if a >= 1e6 {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a == 0.0 {
        "0".into()
    } else {
        trim(format!("{v:.3}"))
    }
}

/// Draws the chart title, then hands the plotting area and the legend strip to `draw`.
fn with_canvas(
    title: &str,
    entries: &[Entry],
    draw: impl FnOnce(&Area<'_>) -> Result<(), String>,
) -> Result<String, ReportError> {
    ensure_font();
    let layout = legend_layout(entries);
    let mut svg = String::new();
    {
        let size = (CHART_SIZE.0, CHART_SIZE.1 + layout.height_px);
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|x| plot_err(title, x))?;
        let (upper, lower) = root.split_vertically(CHART_SIZE.1);
        draw(&upper).map_err(|x| plot_err(title, x))?;
        draw_legend(&lower, entries, &layout).map_err(|x| plot_err(title, x))?;
        root.present().map_err(|x| plot_err(title, x))?;
    }
    Ok(svg)
}

/// Draws `chart` as an SVG document, its legend under the plot.
pub fn line_chart(chart: &LineChart) -> Result<String, ReportError> {
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for (x, y) in finite_points(&chart.lines, chart.x_log) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        (x0, x1) = (if chart.x_log { 1.0 } else { 0.0 }, 1.0);
    }
    let (x0, x1) = chart.x_range.unwrap_or((x0, x1));
    let (y0, y1) = chart
        .y_range
        .unwrap_or((0.0, if y1 > 0.0 { y1 * 1.05 } else { 1.0 }));
    let mut entries: Vec<Entry> = Vec::new();
    for band in &chart.bands {
        if !entries.iter().any(|e| e.name == band.kind) {
            entries.push(Entry {
                name: band.kind.clone(),
                color: band_color(&band.kind),
                swatch: Swatch::Fill(0.3),
            });
        }
    }
    for (i, line) in chart.lines.iter().enumerate() {
        entries.push(Entry {
            name: line.name.clone(),
            color: series_color(i),
            swatch: Swatch::Stroke,
        });
    }
    with_canvas(&chart.title, &entries, |area| {
        if chart.x_log {
            draw_lines(
                area,
                chart,
                nonempty(x0.max(1e-9), x1).log_scale(),
                nonempty(y0, y1),
            )
        } else {
            draw_lines(area, chart, nonempty(x0, x1), nonempty(y0, y1))
        }
    })
}

/// Builds the axes of a chart on `area`.
fn axes<'a, 'b, X: AsRangedCoord<Value = f64>>(
    area: &'a Area<'b>,
    title: &str,
    x: X,
    y: Range<f64>,
) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<X::CoordDescType, RangedCoordf64>>, String> {
    ChartBuilder::on(area)
        .caption(title, ("sans-serif", TITLE_PX))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(|x| x.to_string())
}

fn draw_lines<X>(area: &Area<'_>, chart: &LineChart, x: X, y: Range<f64>) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut ctx = axes(area, &chart.title, x, y.clone())?;
    ctx.configure_mesh()
        .x_desc(chart.x_desc.as_str())
        .y_desc(chart.y_desc.as_str())
        .label_style(("sans-serif", LABEL_PX))
        .axis_desc_style(("sans-serif", LABEL_PX + 1))
        .light_line_style(RGBColor(240, 240, 240))
        .max_light_lines(4)
        .x_label_formatter(&tick_label)
        .y_label_formatter(&tick_label)
        .x_labels(8)
        .y_labels(6)
        .draw()
        .map_err(|x| x.to_string())?;
    for band in &chart.bands {
        let color = band_color(&band.kind);
        let rect = Rectangle::new(
            [(band.start, y.start), (band.end, y.end)],
            color.mix(0.13).filled(),
        );
        ctx.draw_series(std::iter::once(rect))
            .map_err(|x| x.to_string())?;
    }
    for (i, line) in chart.lines.iter().enumerate() {
        draw_line(&mut ctx, line, series_color(i), chart.x_log).map_err(|x| x.to_string())?;
    }
    Ok(())
}

type Ctx<'a, 'b, X> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, RangedCoordf64>>;

/// Draws one line split at gaps, with point markers when it is sparse.
fn draw_line<X>(
    ctx: &mut Ctx<'_, '_, X>,
    line: &Line,
    color: RGBColor,
    x_log: bool,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
where
    X: Ranged<ValueType = f64>,
{
    let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for &(x, y) in &line.points {
        if x.is_finite() && y.is_finite() && (!x_log || x > 0.0) {
            segments.last_mut().expect("never empty").push((x, y));
        } else if !segments.last().expect("never empty").is_empty() {
            segments.push(Vec::new());
        }
    }
    let style = color.stroke_width(2);
    let sparse = line.points.len() <= 40;
    for seg in segments.into_iter().filter(|s| !s.is_empty()) {
        let markers = if sparse || seg.len() == 1 {
            seg.clone()
        } else {
            Vec::new()
        };
        ctx.draw_series(LineSeries::new(seg, style))?;
        ctx.draw_series(markers.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
    }
    Ok(())
}

/// One bar series: `(category, value)` with integer categories (hop count, cache level).
#[derive(Clone, Debug, Default)]
pub struct Bars {
    /// Legend entry.
    pub name: String,
    /// `(category, value)` pairs.
    pub values: Vec<(i64, f64)>,
}

fn int_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}

/// Draws grouped bars: each category gets one bar per series, side by side.
pub fn bar_chart(title: &str, x_desc: &str, y_desc: &str, bars: &[Bars]) -> Result<String, ReportError> {
    let cats = bars.iter().flat_map(|b| b.values.iter().map(|v| v.0));
    let (c0, c1) = cats.fold((i64::MAX, i64::MIN), |(lo, hi), c| (lo.min(c), hi.max(c)));
    let (c0, c1) = if c0 > c1 { (0, 0) } else { (c0, c1) };
    let y1 = bars
        .iter()
        .flat_map(|b| b.values.iter().map(|v| v.1))
        .fold(0.0f64, f64::max);
    let y1 = if y1 > 0.0 { y1 * 1.08 } else { 1.0 };
    let entries: Vec<Entry> = bars
        .iter()
        .enumerate()
        .map(|(k, b)| Entry {
            name: b.name.clone(),
            color: series_color(k),
            swatch: Swatch::Fill(1.0),
        })
        .collect();
    with_canvas(title, &entries, |area| {
        let mut ctx = axes(area, title, c0 as f64 - 0.5..c1 as f64 + 0.5, 0.0..y1)?;
        let span = (c1 - c0 + 1) as usize;
        ctx.configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(("sans-serif", LABEL_PX))
            .axis_desc_style(("sans-serif", LABEL_PX + 1))
            .light_line_style(RGBColor(240, 240, 240))
            .max_light_lines(4)
            .disable_x_mesh()
            .x_labels(span.clamp(2, 20) + 1)
            .x_label_formatter(&int_label)
            .y_label_formatter(&tick_label)
            .y_labels(6)
            .draw()
            .map_err(|x| x.to_string())?;
        let width = 0.8 / bars.len().max(1) as f64;
        for (k, b) in bars.iter().enumerate() {
            let color = series_color(k);
            let rects = b.values.iter().map(|&(c, v)| {
                let left = c as f64 - 0.4 + k as f64 * width;
                Rectangle::new([(left, 0.0), (left + width * 0.95, v)], color.filled())
            });
            ctx.draw_series(rects).map_err(|x| x.to_string())?;
        }
        Ok(())
    })
}

/// One point of a metric-vs-parameter curve: the parameter value and the metric across seeds.
#[derive(Clone, Copy, Debug)]
pub struct ParamPoint {
    /// Parameter value (x).
    pub x: f64,
    /// Mean and 95% confidence interval of the metric over the runs at `x`.
    pub y: MeanCi,
}

/// The x axis of a metric-vs-parameter chart.
#[derive(Clone, Copy, Debug)]
pub enum ParamAxis<'a> {
    /// A linear axis over the points' `x`.
    Linear,
    /// A base-10 logarithmic axis (for counts spanning decades); points must have `x > 0`.
    Log,
    /// A parameter that is not numeric: point `x = i` is labelled `names[i]`.
    Categories(&'a [String]),
}

/// Draws "metric vs parameter": per series, the mean as a line with markers, the 95% confidence
/// interval as a shaded band and whiskers, over an `axis` that is linear, logarithmic or
/// categorical.
pub fn metric_vs_param_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(String, Vec<ParamPoint>)],
    axis: ParamAxis<'_>,
) -> Result<String, ReportError> {
    // A log axis is drawn as a linear one over log10(x), its ticks labelled with x itself.
    let log = matches!(axis, ParamAxis::Log);
    let logged: Vec<(String, Vec<ParamPoint>)>;
    let series = if log {
        logged = series
            .iter()
            .map(|(n, p)| {
                let p = p
                    .iter()
                    .filter(|q| q.x > 0.0)
                    .map(|q| ParamPoint {
                        x: q.x.log10(),
                        y: q.y,
                    })
                    .collect();
                (n.clone(), p)
            })
            .collect();
        logged.as_slice()
    } else {
        series
    };
    let categories = match axis {
        ParamAxis::Categories(names) => Some(names),
        _ => None,
    };
    let finite = |p: &&ParamPoint| p.x.is_finite() && p.y.mean.is_finite();
    let pts = || series.iter().flat_map(|(_, p)| p.iter()).filter(finite);
    let (x0, x1) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.x), b.max(p.x))
    });
    let (y0, y1) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.y.low()), b.max(p.y.high()))
    });
    let (x0, x1) = if x0.is_finite() { (x0, x1) } else { (0.0, 1.0) };
    let (y0, y1) = if y0.is_finite() {
        (y0.min(0.0), y1)
    } else {
        (0.0, 1.0)
    };
    let pad = if categories.is_some() {
        0.5
    } else {
        ((x1 - x0) * 0.05).max(1e-9)
    };
    let entries: Vec<Entry> = series
        .iter()
        .enumerate()
        .map(|(k, (name, _))| Entry {
            name: format!("{name} (mean, 95% CI)"),
            color: series_color(k),
            swatch: Swatch::Stroke,
        })
        .collect();
    let x_label = |v: &f64| match categories {
        Some(names) if (v - v.round()).abs() < 1e-6 && v.round() >= 0.0 => {
            names.get(v.round() as usize).cloned().unwrap_or_default()
        }
        Some(_) => String::new(),
        // Only whole powers of ten are labelled; the others would read 316.228.
        None if log && (v - v.round()).abs() < 1e-6 => tick_label(&10f64.powf(v.round())),
        None if log => String::new(),
        None => tick_label(v),
    };
    with_canvas(title, &entries, |area| {
        let y = nonempty(y0, y1 + (y1 - y0).abs() * 0.08);
        let mut ctx = axes(area, title, nonempty(x0 - pad, x1 + pad), y)?;
        ctx.configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(("sans-serif", LABEL_PX))
            .axis_desc_style(("sans-serif", LABEL_PX + 1))
            .light_line_style(RGBColor(240, 240, 240))
            .max_light_lines(4)
            .x_label_formatter(&x_label)
            .x_labels(categories.map_or(8, |c| c.len().clamp(2, 12) * 2 + 1))
            .y_label_formatter(&tick_label)
            .draw()
            .map_err(|x| x.to_string())?;
        for (k, (_, points)) in series.iter().enumerate() {
            let color = series_color(k);
            let mut p: Vec<ParamPoint> = points.iter().filter(finite).copied().collect();
            p.sort_by(|a, b| a.x.total_cmp(&b.x));
            let upper = p.iter().map(|q| (q.x, q.y.high()));
            let band: Vec<(f64, f64)> = upper.chain(p.iter().rev().map(|q| (q.x, q.y.low()))).collect();
            let e = |x: DrawingAreaErrorKind<std::io::Error>| x.to_string();
            ctx.draw_series(std::iter::once(Polygon::new(band, color.mix(0.15).filled())))
                .map_err(e)?;
            let whiskers = p
                .iter()
                .map(|q| PathElement::new(vec![(q.x, q.y.low()), (q.x, q.y.high())], color.stroke_width(1)));
            ctx.draw_series(whiskers).map_err(e)?;
            ctx.draw_series(LineSeries::new(
                p.iter().map(|q| (q.x, q.y.mean)),
                color.stroke_width(2),
            ))
            .map_err(e)?;
            ctx.draw_series(p.iter().map(|q| Circle::new((q.x, q.y.mean), 3, color.filled())))
                .map_err(e)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_font_registers() {
        assert!(ensure_font(), "DejaVuSans.ttf must parse");
    }

    #[test]
    fn line_chart_draws_lines_bands_and_text() {
        let chart = LineChart {
            title: "Live peers".into(),
            x_desc: "time (s)".into(),
            y_desc: "peers".into(),
            lines: vec![Line {
                name: "alive <all>".into(),
                points: vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0)],
            }],
            bands: vec![Band {
                kind: "fault".into(),
                start: 0.5,
                end: 1.5,
            }],
            ..LineChart::default()
        };
        let svg = line_chart(&chart).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("Live peers") && svg.contains("time (s)"));
        assert!(svg.contains("alive &lt;all&gt;"), "legend text is escaped");
        assert!(svg.contains("fault"), "band legend");
        // The gap splits the line into two single points, each drawn as a marker.
        assert!(svg.matches("<circle").count() >= 2);
    }

    #[test]
    fn log_axis_and_empty_charts_still_render() {
        let chart = LineChart {
            title: "cdf".into(),
            lines: vec![Line {
                name: "a".into(),
                points: vec![(0.0, 0.0), (10.0, 0.5), (1000.0, 1.0)],
            }],
            x_log: true,
            ..LineChart::default()
        };
        assert!(line_chart(&chart).unwrap().contains("polyline"));
        assert!(!LineChart::default().has_data());
        assert!(line_chart(&LineChart::default()).is_ok());
        assert!(bar_chart("b", "x", "y", &[]).is_ok());
    }

    #[test]
    fn bars_and_param_chart_render() {
        let bars = [Bars {
            name: "resolve".into(),
            values: vec![(0, 1.0), (1, 4.0), (2, 2.0)],
        }];
        let svg = bar_chart("Hops", "hops", "fraction", &bars).unwrap();
        assert!(svg.matches("<rect").count() >= 4, "three bars and a background");
        let p = |x, mean| ParamPoint {
            x,
            y: MeanCi {
                lo: mean - 0.1,
                hi: mean + 0.1,
                n: 3,
                mean,
            },
        };
        let svg = metric_vs_param_chart(
            "ratio vs session",
            "session (min)",
            "success",
            &[("resolve".into(), vec![p(30.0, 0.9), p(10.0, 0.7), p(60.0, 0.95)])],
            ParamAxis::Linear,
        )
        .unwrap();
        assert!(svg.contains("95% CI") && svg.contains("polygon"));
    }
}
