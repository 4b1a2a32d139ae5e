//! Run records, aggregation and rendering (docs/architecture.md §2: reports only read files, so a report can be
//! re-rendered without re-running).
//!
//! The simulator feeds an [`Aggregator`] live and writes `summary.json` from [`Aggregator::summary`];
//! [`render_run`] turns a run directory into `report.html` plus CSVs, [`render_compare`] overlays
//! several runs, [`render_sweep`] summarises `--seeds` and `--sweep` runs (mean and 95% confidence
//! interval, "figure vs parameter" plots; [`mean_ci95`] and [`metric_vs_param_chart`] are the pieces).

mod aggregate;
mod compare;
mod csv;
mod error;
mod figures;
mod graph_figures;
mod html;
mod interval;
mod load;
pub mod output;
mod plot;
mod png;
mod read;
mod record;
mod render;
mod series;
mod stats;
mod sweep;
mod table;
mod terminal;

pub use aggregate::{
    Aggregator, CheckResult, OpSummary, Percentiles, RunInfo, Summary, SOURCE_LEFT, SUMMARY_SCHEMA_VERSION,
    UNFINISHED,
};
pub use compare::render_compare;
pub use error::ReportError;
pub use html::escape as html_escape;
pub use plot::{
    bar_chart, line_chart, metric_vs_param_chart, Band, Bars, Line, LineChart, ParamAxis, ParamPoint,
};
pub use png::render_png;
pub use read::{read_records, RecordReader};
pub use record::{
    End, GraphDelivery, GraphSample, Meta, OpRecord, PeerLoad, Phase, Record, Sample, Violation,
    RECORD_SCHEMA_VERSION,
};
pub use render::render_run;
pub use series::{RunData, Series};
pub use stats::{
    across_runs, figure_ci, figure_values, headline_figures, higher_is_better, is_host_figure, mean_ci95,
    t975, MeanCi,
};
pub use sweep::{render_sweep, SweepPoint};
pub use table::{fmt_bytes, fmt_duration_ms, fmt_metric, fmt_num, fmt_pct, group_digits};
pub use terminal::WIDTH;
