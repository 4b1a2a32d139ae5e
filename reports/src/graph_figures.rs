//! Peer Graphing's report figures (docs/graphing.md "Report figures"): how long records took to
//! reach 50/90/100% of their targets, the degree histogram, database divergence over time. The
//! traffic-by-message-type plots are the common ones (`figures::traffic`).

use crate::error::ReportError;
use crate::figures::{line_figure, name, Figure, RunView};
use crate::plot::{bar_chart, Bars, Line, LineChart};
use crate::record::{GraphDelivery, GraphSample};

/// Most delivery records kept per run for the reach plot (one per record version published).
pub const DELIVERIES_MAX: usize = 1_000_000;

/// What a graphing run's records hold for its figures.
#[derive(Clone, Debug, Default)]
pub struct GraphData {
    /// Every `graph_sample` record, in time order.
    pub samples: Vec<GraphSample>,
    /// Delays to 50%, 90% and 100% of the targets, microseconds, of records that reached them.
    pub reach_us: [Vec<u64>; 3],
    /// Records whose 100% was never reached.
    pub unreached: u64,
}

impl GraphData {
    /// Folds one delivery record in.
    pub fn push_delivery(&mut self, d: &GraphDelivery) {
        if self.reach_us[0].len() >= DELIVERIES_MAX {
            return;
        }
        for (v, r) in self
            .reach_us
            .iter_mut()
            .zip([d.reach_50_us, d.reach_90_us, d.reach_100_us])
        {
            if let Some(r) = r {
                v.push(r);
            }
        }
        self.unreached += d.reach_100_us.is_none() as u64;
    }
}

/// Whether any run is a Peer Graphing run.
pub fn has_graph(runs: &[RunView]) -> bool {
    runs.iter().any(|r| !r.data.graph.samples.is_empty())
}

/// CDF of the time records took to reach 50%, 90% and 100% of their targets.
pub fn reach_cdf(runs: &[RunView]) -> Result<Figure, ReportError> {
    let mut lines = Vec::new();
    for r in runs {
        for (level, v) in ["50%", "90%", "100%"].iter().zip(&r.data.graph.reach_us) {
            let mut s = v.clone();
            s.sort_unstable();
            let n = s.len() as f64;
            let points = s
                .iter()
                .enumerate()
                .map(|(i, us)| (*us as f64 / 1e3, (i + 1) as f64 / n))
                .collect();
            lines.push(Line {
                name: name(runs, r, &format!("{level} of targets")),
                points,
            });
        }
    }
    let unreached: u64 = runs.iter().map(|r| r.data.graph.unreached).sum();
    let chart = LineChart {
        title: "Time for a record to reach its targets".into(),
        x_desc: "time since publication (ms)".into(),
        y_desc: "fraction of records".into(),
        lines,
        y_range: Some((0.0, 1.05)),
        ..LineChart::default()
    };
    let note = format!(
        "Targets: members live and synchronized when the record was published. Records that never reached every target ({unreached}) are left out of the 100% line."
    );
    line_figure(chart, &note, "No record was published.")
}

/// Share of members by neighbor count, over every sample.
pub fn degree_histogram(runs: &[RunView]) -> Result<Figure, ReportError> {
    let title = "Neighbors per member";
    let mut bars = Vec::new();
    for r in runs {
        let mut sum: Vec<u64> = Vec::new();
        for s in &r.data.graph.samples {
            if sum.len() < s.degree_histogram.len() {
                sum.resize(s.degree_histogram.len(), 0);
            }
            for (a, b) in sum.iter_mut().zip(&s.degree_histogram) {
                *a += b;
            }
        }
        let total: u64 = sum.iter().sum();
        if total == 0 {
            continue;
        }
        let values = sum
            .iter()
            .enumerate()
            .map(|(d, n)| (d as i64, *n as f64 / total as f64))
            .collect();
        bars.push(Bars {
            name: name(runs, r, "members"),
            values,
        });
    }
    if bars.is_empty() {
        return Ok(Figure::new(title, None, "No graph sample recorded."));
    }
    let svg = bar_chart(title, "CONNECTED neighbors", "fraction of member-samples", &bars)?;
    Ok(Figure::new(
        title,
        Some(svg),
        "Degrees of live honest members over all samples (MS-PPGRH §3.1.1: min 2, ideal 3, max 7).",
    ))
}

/// Share of settled members whose database differs from their component's, and the number of
/// components, over time.
pub fn divergence_over_time(runs: &[RunView]) -> Result<Figure, ReportError> {
    let mut lines = Vec::new();
    for r in runs {
        let s = &r.data.graph.samples;
        let share = |g: &GraphSample| {
            if g.compared == 0 {
                f64::NAN
            } else {
                g.diverged as f64 / g.compared as f64
            }
        };
        lines.push(Line {
            name: name(runs, r, "diverged members"),
            points: s.iter().map(|g| (g.t_us as f64 / 1e6, share(g))).collect(),
        });
        lines.push(Line {
            name: name(runs, r, "members off their signature"),
            points: s
                .iter()
                .map(|g| (g.t_us as f64 / 1e6, 1.0 - g.signature_agreement))
                .collect(),
        });
    }
    let chart = LineChart {
        title: "Database divergence over time".into(),
        x_desc: "simulated time (s)".into(),
        y_desc: "fraction of members".into(),
        lines,
        bands: crate::figures::bands(runs),
        y_range: Some((0.0, 1.05)),
        ..LineChart::default()
    };
    line_figure(
        chart,
        "Settled members whose application records differ from their component's most common database, and members whose signature is not their component's lowest node id.",
        "No graph sample recorded.",
    )
}

/// The graphing figures, in page order.
pub fn graph_figures(runs: &[RunView]) -> Result<Vec<Figure>, ReportError> {
    Ok(vec![
        reach_cdf(runs)?,
        degree_histogram(runs)?,
        divergence_over_time(runs)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Summary;
    use crate::record::Record;
    use crate::series::RunData;

    fn run(records: &[Record]) -> RunView {
        let mut data = RunData::new();
        for r in records {
            data.push(r);
        }
        RunView {
            label: "r".into(),
            data,
            summary: Summary::default(),
            params: Vec::new(),
        }
    }

    #[test]
    fn a_graph_run_draws_its_three_figures_and_counts_the_unreached() {
        let mut records = Vec::new();
        for t in 1..=3u64 {
            records.push(Record::GraphSample(GraphSample {
                t_us: t * 10_000_000,
                members: 4,
                degree_histogram: vec![0, 0, 2, 2],
                compared: 4,
                diverged: 1,
                signature_agreement: 1.0,
                ..GraphSample::default()
            }));
        }
        for (i, r100) in [Some(90_000), None].into_iter().enumerate() {
            records.push(Record::GraphDelivery(GraphDelivery {
                published_us: i as u64,
                targets: 3,
                delivered: 3 - i as u32,
                reach_50_us: Some(10_000),
                reach_90_us: Some(50_000),
                reach_100_us: r100,
            }));
        }
        let runs = [run(&records)];
        assert!(has_graph(&runs));
        assert_eq!(runs[0].data.graph.unreached, 1);
        assert_eq!(runs[0].data.graph.reach_us[0], vec![10_000, 10_000]);
        let figures = graph_figures(&runs).unwrap();
        assert_eq!(figures.len(), 3);
        assert!(
            figures.iter().all(|f| f.svg.is_some()),
            "{:?}",
            figures.iter().map(|f| &f.note).collect::<Vec<_>>()
        );
        assert!(figures[0].note.contains("(1)"));
        let all = crate::figures::all_figures(&runs).unwrap();
        assert!(all.iter().any(|f| f.title.contains("Neighbors per member")));
        assert!(!all.iter().any(|f| f.title.contains("Leaf-set")));
    }

    #[test]
    fn other_runs_have_no_graph_figures() {
        assert!(!has_graph(&[run(&[])]));
        let f = degree_histogram(&[run(&[])]).unwrap();
        assert!(f.svg.is_none());
    }
}
