//! PNG export of a run's plots . The SVGs the
//! HTML page inlines are rasterised with resvg, using the bundled font only, so the pictures are the
//! same on every machine and need no system fonts.

use crate::error::ReportError;
use crate::figures::all_figures;
use crate::render::load_run;
use std::path::{Path, PathBuf};

/// Pixels per SVG unit: 2× for legible text on high-density screens and in slides.
const SCALE: f32 = 2.0;

/// Writes one `plot-<n>-<title>.png` per plot with data into `run_dir`; returns their paths.
pub fn render_png(run_dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let run = load_run(run_dir)?;
    let figures = all_figures(std::slice::from_ref(&run.view))?;
    let options = options();
    let mut written = Vec::new();
    for (i, fig) in figures.iter().enumerate() {
        let Some(svg) = &fig.svg else { continue };
        let path = run_dir.join(format!("plot-{}-{}.png", i + 1, slug(&fig.title)));
        let png = rasterize(svg, &options).map_err(|detail| ReportError::Plot {
            plot: fig.title.clone(),
            detail,
        })?;
        crate::output::write_file(&path, png).map_err(|e| ReportError::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// Rasteriser options whose every font family resolves to the bundled DejaVu Sans.
fn options() -> resvg::usvg::Options<'static> {
    let mut options = resvg::usvg::Options::default();
    let db = options.fontdb_mut();
    db.load_font_data(crate::plot::FONT.to_vec());
    for family in ["sans-serif", "serif", "monospace"] {
        match family {
            "serif" => db.set_serif_family("DejaVu Sans"),
            "monospace" => db.set_monospace_family("DejaVu Sans"),
            _ => db.set_sans_serif_family("DejaVu Sans"),
        }
    }
    options.font_family = "DejaVu Sans".into();
    options
}

fn rasterize(svg: &str, options: &resvg::usvg::Options) -> Result<Vec<u8>, String> {
    let tree = resvg::usvg::Tree::from_str(svg, options).map_err(|e| e.to_string())?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(SCALE)
        .ok_or("the plot has no size")?;
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("the plot is too large")?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| e.to_string())
}

fn slug(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_file_names() {
        assert_eq!(slug("Resolve latency CDF (ms)"), "resolve-latency-cdf-ms");
    }

    #[test]
    fn a_plot_rasterises_to_a_png() {
        let options = options();
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><text x="2" y="15" font-family="sans-serif">ok</text><rect x="30" y="5" width="5" height="5" fill="red"/></svg>"#;
        let png = rasterize(svg, &options).expect("renders");
        assert_eq!(&png[1..4], b"PNG");
    }
}
